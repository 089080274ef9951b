import type { DType, Tensor } from '@oneshot-em/core';

/**
 * The Dawn tensor handle: shape and dtype for core, the GPUBuffer kept private.
 *
 * A handle may be a view of the first rows of a [B, Smax, X] KV cache (`kvCachePrefix`):
 * shape [B, length, X] over the cache's buffer, batch b starting at row b·Smax. Only
 * attentionForward reads views directly (`DawnTensor.view`); `read` copies one out; every
 * other op refuses them; disposing a view leaves the cache alone.
 */
export class DawnTensor implements Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** For a KV-cache view: rows per batch in the underlying buffer (Smax). */
  readonly viewRowsPerBatch: number | undefined;
  #buffer: GPUBuffer | null;

  constructor(
    buffer: GPUBuffer,
    shape: readonly number[],
    dtype: DType,
    viewRowsPerBatch?: number,
  ) {
    this.#buffer = buffer;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
    this.viewRowsPerBatch = viewRowsPerBatch;
  }

  /** The buffer behind a dense handle; throws on a foreign, disposed or view tensor. */
  static buffer(t: Tensor, what = 'tensor'): GPUBuffer {
    const own = DawnTensor.#own(t, what);
    if (own.viewRowsPerBatch !== undefined) {
      throw new Error(
        `${what} is a KV-cache view (kvCachePrefix); only attentionForward reads views`,
      );
    }
    return own.#live(what);
  }

  /** The buffer of a dense tensor or a view, with a view's rows per batch (undefined if dense). */
  static view(t: Tensor, what = 'tensor'): { buffer: GPUBuffer; rowsPerBatch: number | undefined } {
    const own = DawnTensor.#own(t, what);
    return { buffer: own.#live(what), rowsPerBatch: own.viewRowsPerBatch };
  }

  /** Detaches the handle; returns the buffer for the pool unless the handle was a view. */
  static detach(t: Tensor): GPUBuffer | null {
    const own = DawnTensor.#own(t, 'dispose');
    const b = own.#buffer;
    own.#buffer = null;
    return own.viewRowsPerBatch === undefined ? b : null;
  }

  static #own(t: Tensor, what: string): DawnTensor {
    if (!(t instanceof DawnTensor))
      throw new Error(`${what} is not a Dawn tensor (was it created by another backend?)`);
    return t;
  }

  #live(what: string): GPUBuffer {
    if (!this.#buffer)
      throw new Error(`${what} [${this.shape.join(', ')}] was used after dispose()`);
    return this.#buffer;
  }
}
