import { expect } from 'vitest';

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; on failure the message lists
 * the first mismatches and the max difference.
 */
export function expectClose(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let maxDiff = 0;
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const same = a === e || (Number.isNaN(a) && Number.isNaN(e));
    const d = same ? 0 : Math.abs(a - e);
    if (!(d <= maxDiff)) maxDiff = d;
    if (!same && !(d <= atol + rtol * Math.abs(e)) && bad.length < 8)
      bad.push(`[${i}] got ${a}, want ${e}`);
  }
  if (bad.length > 0) {
    throw new Error(
      `${label}: mismatch (atol ${atol}, rtol ${rtol}), max |diff| ${maxDiff}; first: ${bad.join('; ')}`,
    );
  }
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

export function randomInts(n: number, seed: number, max: number): Int32Array {
  const f = randomFloats(n, seed);
  return Int32Array.from(f, (x) => Math.min(max - 1, Math.floor(((x + 1) / 2) * max)));
}
