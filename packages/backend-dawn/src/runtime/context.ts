import type { DType, Tensor } from '@oneshot-em/core';
import type { Reduction } from '../kernels/kernel.js';
import type { MatmulAvailability, MatmulVariant } from '../kernels/matmul/variant.js';
import type { WeightDtype } from '../kernels/weights.js';
import type { CommandQueue } from './commands.js';
import type { SubgroupMatrixShape } from './device.js';
import { DawnTensor } from './tensor.js';

/**
 * What a kernel family's launchers (kernels/<family>/<family>.ts) need from the backend:
 * the command queue, tensor allocation, and per-backend constants.
 */
export interface KernelContext {
  readonly queue: CommandQueue;
  readonly matmul: MatmulVariant;
  /** The optional matmul variants that passed validation on this adapter (runtime/variants.ts). */
  readonly matmulAvailable: MatmulAvailability;
  /** The adapter's f16 subgroup-matrix shape (the sgmat variant), when it has the feature. */
  readonly subgroupMatrix?: SubgroupMatrixShape;
  /** 'subgroup' when the device has the `subgroups` feature (and it is not disabled). */
  readonly reduction: Reduction;
  /** Matmuls in the f16 kernel (the opt-in `f16` option; the device has shader-f16). */
  readonly f16: boolean;
  /** Threads per workgroup and workgroup-memory bytes the device allows. */
  readonly workgroupLimits: { threads: number; storageBytes: number };
  /** The dtype of weights' compute copies (`dtype` option): 'f32' means none. */
  readonly weightDtype: WeightDtype;
  /** A raw buffer of `bytes` from the pool (a compute copy); freed with its tensor. */
  acquire(bytes: number): GPUBuffer;
  /**
   * Called by kernels on the operand they read as a weight (matmul's b, the embedding table):
   * with a low-precision `weightDtype`, a host-uploaded f32 tensor gets its compute copy on
   * first use (activations, computed on the device, never do). Returns `t`.
   */
  asWeight(t: Tensor): Tensor;
  /** A new tensor (contents undefined) from the buffer pool. */
  alloc(shape: readonly number[], dtype?: DType): DawnTensor;
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  dispose(t: Tensor): void;
  /** A tensor built once per backend and kept until `destroy` (e.g. rope's cos/sin table). */
  constant(key: string, make: () => { data: Float32Array; shape: number[] }): Tensor;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The GPU buffer of a dense Dawn tensor; `what` names it in errors. */
export const buf = (t: Tensor, what: string) => DawnTensor.buffer(t, what);

export function expectDtype(t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype)
    throw new Error(`${what}: expected a ${dtype} tensor, got ${t.dtype} [${t.shape}]`);
}

export function sameSize(a: Tensor, b: Tensor, what: string): void {
  if (numel(a.shape) !== numel(b.shape))
    throw new Error(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
}
