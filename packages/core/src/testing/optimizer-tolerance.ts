import { expect } from 'vitest';

/**
 * Asserts the host optimizer's pooled AdamW against core's reference (train/host-optimizer/simd.ts): m and v
 * bit-for-bit; p within ulp(p) + 8 f32 roundings of the step's update u = p − pBefore, per step
 * taken: the SIMD kernel forms u in f32 (sqrt and divisions, ≤ 6 roundings) where the reference
 * uses f64, so the two f64 values of p·(1−lr·wd) − u differ by ≤ |u|·6·2⁻²⁴ before the rounding
 * to f32, which may then fall on either side (one ulp of p).
 */
export function expectAdamwClose(
  label: string,
  got: { p: Float32Array; m: Float32Array; v: Float32Array },
  want: { p: Float32Array; m: Float32Array; v: Float32Array },
  pBefore: Float32Array,
  steps = 1,
): void {
  for (const k of ['m', 'v'] as const) {
    const first = want[k].findIndex((x, i) => !Object.is(x, got[k][i]));
    expect(first, `${label}: ${k}[${first}] got ${got[k][first]}, want ${want[k][first]}`).toBe(-1);
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.p.length; i++) {
    const u = Math.abs(want.p[i] - pBefore[i]);
    const tol = steps * (2 ** -23 * Math.abs(want.p[i]) + 2 ** -21 * u) + 1e-38;
    const r = Math.abs(got.p[i] - want.p[i]) / tol;
    if (!(r <= worst)) [worst, at] = [r, i];
  }
  expect(
    worst,
    `${label}: p[${at}] got ${got.p[at]}, want ${want.p[at]} (from ${pBefore[at]}): ${worst.toFixed(2)}× the bound`,
  ).toBeLessThanOrEqual(1);
}

/** Deterministic values in [-scale, scale) from a small LCG (test data only). */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
