/**
 * Seeded test data for every package's tests, drawn from core's counter-based RNG (the one the
 * sampler and the fixture weights use), so a failure reproduces from its seed alone.
 */
import { RngStream, uniformAt } from '../sampling/rng.js';

/** n values uniform in [−scale, scale), f32. */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (uniformAt(seed, RngStream.init, i) * 2 - 1) * scale;
  return out;
}

/** n integers uniform in [0, below). */
export function randomInts(n: number, seed: number, below: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(uniformAt(seed, RngStream.init, i) * below);
  return out;
}
