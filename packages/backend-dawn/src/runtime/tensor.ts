import type { DType, Tensor } from '@oneshot-em/core';

/** The Dawn tensor handle: shape and dtype for core, the GPUBuffer kept private. */
export class DawnTensor implements Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  #buffer: GPUBuffer | null;

  constructor(buffer: GPUBuffer, shape: readonly number[], dtype: DType) {
    this.#buffer = buffer;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  /** The buffer behind a handle; throws on a foreign or disposed tensor. */
  static buffer(t: Tensor, what = 'tensor'): GPUBuffer {
    if (!(t instanceof DawnTensor))
      throw new Error(`${what} is not a Dawn tensor (was it created by another backend?)`);
    if (!t.#buffer) throw new Error(`${what} [${t.shape.join(', ')}] was used after dispose()`);
    return t.#buffer;
  }

  /** Detaches the buffer (for the pool); later use of the handle throws. */
  static detach(t: Tensor): GPUBuffer | null {
    if (!(t instanceof DawnTensor)) throw new Error('dispose: not a Dawn tensor');
    const b = t.#buffer;
    t.#buffer = null;
    return b;
  }
}
