/**
 * Counter-based RNG (Philox4x32-10, Salmon et al. 2011). A draw is a pure function of
 * (seed, stream, counter), so the CPU reference and every backend make the same draws for the
 * same seed without sharing state, and a resumed run continues the exact sequence.
 *
 * Streams in use: see `RngStream`. Counters index draws within a stream (e.g. step · rows ·
 * maxNewTokens + row · maxNewTokens + token), never reused.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (exact, via 16-bit halves). */
function mulhi(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const ll = aL * bL;
  const lh = aL * bH;
  const hl = aH * bL;
  const hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of a 128-bit counter under a 64-bit key → four u32. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
): [number, number, number, number] {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  return [x0, x1, x2, x3];
}

export const RngStream = {
  /** token draws during rollout sampling */
  sampling: 1,
  /** parameter initialisation of random fixture models */
  init: 2,
  /** data order (rollout file / dataset shuffling) */
  data: 3,
} as const;

/** A u32 → float in [0, 1) with 24 bits, exactly representable in f32. */
export function u32ToUniform(x: number): number {
  return (x >>> 8) * (1 / 16777216);
}

/** The uniform in [0, 1) at (seed, stream, counter); seed may be any integer < 2^53. */
export function uniformAt(seed: number, stream: number, counter: number): number {
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 4294967296) >>> 0;
  const cLo = counter >>> 0;
  const cHi = Math.floor(counter / 4294967296) >>> 0;
  return u32ToUniform(philox4x32(cLo, cHi, stream >>> 0, 0, seedLo, seedHi)[0]);
}

/** `count` uniforms at counters start, start+1, … (f32, as uploaded to a device). */
export function uniforms(seed: number, stream: number, start: number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = uniformAt(seed, stream, start + i);
  return out;
}

/** Standard normal by Box–Muller over two counters (for random fixture weights). */
export function normalAt(seed: number, stream: number, counter: number): number {
  const u1 = uniformAt(seed, stream, 2 * counter) + 1 / 33554432;
  const u2 = uniformAt(seed, stream, 2 * counter + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
