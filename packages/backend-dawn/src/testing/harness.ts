/**
 * Dawn's test plumbing: one Dawn backend per test file and the f64 CPU reference as the oracle.
 * Closeness checks, finite differences and seeded data are core's (`@oneshot-em/core/testing`).
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
import {
  expectClose,
  finiteDifferences,
  randomFloats,
  sampleIndices,
  type Tolerance,
  weightedSum,
} from '@oneshot-em/core/testing';
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

/** A device tensor against the reference's, both read back as f32. */
export async function expectTensorClose(
  h: DawnHarness,
  d: DawnBackend,
  what: string,
  got: Tensor,
  want: Tensor,
  tol: Tolerance,
): Promise<void> {
  expectClose(what, await readF(d, got), await readF(h.ref, want), tol);
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

/** A backward's result at x, and the forward it differentiates, to check it against. */
export interface GradientCheck {
  /** the gradient the device computed, dL/dx over all of x */
  grad: ArrayLike<number>;
  x: ArrayLike<number>;
  shape: readonly number[];
  /** the forward on the f64 reference, as a function of x (the other inputs fixed) */
  forward: (x: Tensor) => Tensor;
  /** dOut: L(x) = Σ weights ⊙ forward(x) */
  weights: ArrayLike<number>;
  /** the coordinates of x to check (default: 6 spread over x) */
  coords?: readonly number[];
  /** the finite-difference step (default finiteDifferences's) */
  h?: number;
}

/**
 * The independent check of a device backward: its gradient at `coords` against central finite
 * differences of L on the f64 reference.
 */
export function expectFiniteDifferences(
  ref: ReferenceBackend,
  what: string,
  c: GradientCheck,
  tol: Tolerance,
): void {
  const coords = c.coords ?? sampleIndices(c.x.length, 6);
  const fd = finiteDifferences(
    (x) => weightedSum(c.weights, ref.readExact(c.forward(ref.uploadExact(x, c.shape)))),
    Float64Array.from(c.x),
    { indices: coords, ...(c.h !== undefined && { h: c.h }) },
  );
  expectClose(
    `${what} vs finite differences`,
    coords.map((i) => c.grad[i]),
    fd,
    tol,
  );
}

/** A matmul's sizes and transpositions: a is [M, K] (or [K, M]), b is [K, N] (or [N, K]). */
export interface MatmulCase {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

/**
 * The device's a·b against the f64 reference's, for random operands (seeded) in the layouts
 * the case's transpositions ask for. The oracle reads b as the kernel does: the values of its
 * compute copy where the weights are stored in bf16 or f16 (`dtype`).
 */
export async function expectMatmulClose(
  ref: ReferenceBackend,
  d: DawnBackend,
  what: string,
  c: MatmulCase,
  seeds: readonly [number, number],
  tol: Tolerance,
  dtype: 'f32' | 'bf16' | 'f16' = 'f32',
): Promise<void> {
  const { M, K, N, transA, transB } = c;
  const aShape = transA ? [K, M] : [M, K];
  const bShape = transB ? [N, K] : [K, N];
  const a = randomFloats(M * K, seeds[0]);
  const b = randomFloats(K * N, seeds[1]);
  const bt = d.upload(b, bShape);
  const got = await readF(d, d.matmul(d.upload(a, aShape), bt, { transA, transB }));
  const bits = await d.readComputeCopy(bt);
  const wb = bits ? Float32Array.from(bits, dtype === 'f16' ? fromF16Bits : fromBf16Bits) : b;
  const want = await readF(
    ref,
    ref.matmul(ref.upload(a, aShape), ref.upload(wb, bShape), { transA, transB }),
  );
  expectClose(what, got, want, tol);
}
