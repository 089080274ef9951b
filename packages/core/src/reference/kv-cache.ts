/** The KV cache of decoding: row copies into and out of [B, Smax, X] buffers (shapes: model/shape-legend.ts). */
import type { Floats } from './storage.js';

/** cache [B, Smax, X] rows [start, start + T) ← rows [B, T, X] (in place). */
export function kvCacheWrite(
  cache: Floats,
  rows: Floats,
  B: number,
  Smax: number,
  X: number,
  start: number,
): void {
  const T = rows.length / (B * X);
  if (start + T > Smax)
    throw new Error(`kvCacheWrite: rows [${start}, ${start + T}) exceed the cache length ${Smax}`);
  for (let b = 0; b < B; b++) {
    cache.set(rows.subarray(b * T * X, (b + 1) * T * X), (b * Smax + start) * X);
  }
}

/** out [B, length, X] ← cache [B, Smax, X] rows [0, length). */
export function kvCachePrefix(
  out: Floats,
  cache: Floats,
  B: number,
  Smax: number,
  X: number,
  length: number,
): void {
  for (let b = 0; b < B; b++) {
    out.set(cache.subarray(b * Smax * X, (b * Smax + length) * X), b * length * X);
  }
}
