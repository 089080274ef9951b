import type { Floats } from './storage.js';

/** out = a + b (same length) */
export function add(out: Floats, a: Floats, b: Floats): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/** out = x · s */
export function scale(out: Floats, x: Floats, s: number): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i] * s;
}

/** out [N, C] = x [N, C] + bias [C] */
export function addBias(out: Floats, x: Floats, bias: Floats): void {
  const C = bias.length;
  for (let i = 0; i < out.length; i++) out[i] = x[i] + bias[i % C];
}

/** out [C] = Σₙ x [N, C] (the bias gradient) */
export function sumRows(out: Floats, x: Floats): void {
  const C = out.length;
  out.fill(0);
  for (let i = 0; i < x.length; i++) out[i % C] += x[i];
}

/** Σ x² over all elements */
export function sumSquares(x: Floats): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
