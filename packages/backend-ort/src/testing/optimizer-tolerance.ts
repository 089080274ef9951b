import { expect } from 'vitest';

/**
 * Asserts the host optimizer's pooled AdamW against core's reference (optimizer-simd.ts): m and v
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
