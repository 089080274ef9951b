/**
 * Shared test plumbing: one Dawn backend per test file, the f64 CPU reference as the oracle,
 * seeded inputs, closeness checks that print the first mismatches, and finite differences.
 *
 * Without an adapter a test skips with the missing-driver message locally, and fails with it
 * under CI=true (CI must never skip silently).
 */
import {
  bf16ToF32,
  createReferenceBackend,
  f16ToF32,
  f32ToBf16,
  f32ToF16Into,
  type ReferenceBackend,
  type Tensor,
} from '@oneshot-em/core';
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { createDawnBackend, type DawnBackend, type DawnBackendOptions } from '../dawn-backend.js';
import type { Reduction } from '../kernels/kernel.js';

export interface DawnHarness {
  /** The backend, or skip (locally) / throw (CI) when no adapter is available. */
  dawn(ctx: TestContext): DawnBackend;
  ref: ReferenceBackend;
}

/** CI=true (or 1): tests must fail, never skip, when the adapter is missing. */
export function isCi(): boolean {
  return /^(true|1)$/i.test(process.env.CI ?? '');
}

/**
 * The two workgroup-reduction paths the reduction kernels (vocab, rmsnorm, reduce) are tested
 * on, with the same tolerances: subgroups, and the shared-memory fallback.
 */
export const reductionPaths = [
  { reduction: 'subgroup', options: {} },
  { reduction: 'workgroup', options: { disableSubgroups: true } },
] as const satisfies readonly { reduction: Reduction; options: DawnBackendOptions }[];

/**
 * Call at the top of a describe block. With `reduction`, the backend must take that path: the
 * subgroup path skips (with the reason) on an adapter without the `subgroups` feature.
 */
export function useDawn(options: DawnBackendOptions = {}, reduction?: Reduction): DawnHarness {
  let backend: DawnBackend | undefined;
  let failure: Error | undefined;
  beforeAll(async () => {
    try {
      backend = await createDawnBackend(options);
    } catch (err) {
      failure = err as Error;
    }
  });
  afterAll(async () => {
    await backend?.destroy();
  });
  return {
    ref: createReferenceBackend({ precision: 'f64' }),
    dawn(ctx) {
      if (backend) {
        const taken: Reduction = backend.features.subgroups ? 'subgroup' : 'workgroup';
        if (reduction === 'subgroup' && taken !== reduction)
          ctx.skip(`adapter "${backend.adapter.description}" has no subgroups feature`);
        if (reduction !== undefined && taken !== reduction)
          throw new Error(`expected the ${reduction} reduction path, the backend takes ${taken}`);
        return backend;
      }
      const message = failure?.message ?? 'the Dawn backend was not created';
      if (isCi()) throw new Error(message);
      ctx.skip(`no Dawn adapter: ${message}`);
      throw new Error('unreachable');
    },
  };
}

/** A seeded generator (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

export function randomInts(n: number, seed: number, below: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * below));
}

/**
 * Fails unless |a − e| ≤ abs + rel·|e| everywhere, reporting the first mismatches and the
 * largest difference. Non-finite values must match exactly.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { abs: number; rel?: number },
  label: string,
): void {
  if (actual.length !== expected.length)
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  const rel = tol.rel ?? 0;
  const bad: string[] = [];
  let maxDiff = 0;
  let badCount = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const diff = Number.isFinite(e) ? Math.abs(a - e) : a === e ? 0 : Number.POSITIVE_INFINITY;
    if (Number.isNaN(a) || diff > tol.abs + rel * Math.abs(e)) {
      badCount++;
      if (bad.length < 8) bad.push(`  [${i}] got ${a}, expected ${e} (diff ${diff})`);
    }
    if (diff > maxDiff || Number.isNaN(a)) maxDiff = Number.isNaN(a) ? Number.NaN : diff;
  }
  if (badCount > 0) {
    throw new Error(
      `${label}: ${badCount}/${actual.length} values differ; max diff ${maxDiff} (abs ${tol.abs}, rel ${rel})\n${bad.join('\n')}`,
    );
  }
}

/** Max |a − e|. */
export function maxAbsDiff(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - e[i]));
  return m;
}

export async function readF(
  backend: { read(t: Tensor): Promise<Float32Array | Int32Array> },
  t: Tensor,
): Promise<Float32Array> {
  const data = await backend.read(t);
  if (!(data instanceof Float32Array)) throw new Error('expected an f32 tensor');
  return data;
}

/**
 * Central finite differences of L(x) = Σ_i w_i · f(x)_i on the f64 reference, at a few
 * coordinates of x: the independent check of a backward.
 */
export function finiteDifferences(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  w: ArrayLike<number>,
  coords: readonly number[],
  h = 1e-4,
): number[] {
  const loss = (y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  return coords.map((i) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] += h;
    minus[i] -= h;
    return (loss(f(plus)) - loss(f(minus))) / (2 * h);
  });
}

/** A spread of coordinates in [0, n): first, last and some in between. */
export function someCoords(n: number, count = 6): number[] {
  const out = new Set<number>([0, n - 1]);
  for (let i = 1; out.size < Math.min(count, n); i++) out.add(Math.floor((i * n * 0.618) % n));
  return [...out];
}

/**
 * Host bf16 / f16 rounding of one value (nearest even), as bits and back: the oracle of the
 * device compute copies, through core's safetensors converters (one implementation).
 */
export function toBf16Bits(x: number): number {
  return f32ToBf16(Float32Array.of(x))[0];
}
export function toF16Bits(x: number): number {
  const out = new Uint16Array(1);
  f32ToF16Into(Float32Array.of(x), out);
  return out[0];
}
export function fromBf16Bits(bits: number): number {
  return bf16ToF32(Uint16Array.of(bits))[0];
}
export function fromF16Bits(bits: number): number {
  return f16ToF32(Uint16Array.of(bits))[0];
}
