import type { DType, Tensor } from '@oneshot-em/core';

/** One row segment of a tensor: a buffer holding rows [row0, row0 + rows) = elements [elem0, elem0 + elems). */
export interface Segment {
  buffer: GPUBuffer;
  row0: number;
  rows: number;
  elem0: number;
  elems: number;
}

/**
 * The Dawn tensor handle: shape and dtype for core, the GPUBuffers kept private.
 *
 * A tensor larger than the backend's binding limit is split along dim 0 into segments of
 * `rowsPerSegment` rows (the last may be shorter), one buffer each (runtime/segments.ts);
 * core never sees the difference. Ops that take split tensors iterate `DawnTensor.segments`;
 * every other op reaches the buffer through `DawnTensor.buffer`, which refuses them by name.
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
  /** For a split tensor: rows of dim 0 per segment; undefined for one buffer. */
  readonly rowsPerSegment: number | undefined;
  #buffers: GPUBuffer[] | null;
  /** The low-precision compute copy of a weight (`--dtype`), one buffer per segment. */
  #compute: { dtype: 'bf16' | 'f16'; buffers: GPUBuffer[] } | undefined;
  /** The f32 buffers were given up (`dropMaster`): the master lives on the host. */
  #masterOnHost = false;

  constructor(
    buffer: GPUBuffer | GPUBuffer[],
    shape: readonly number[],
    dtype: DType,
    viewRowsPerBatch?: number,
    rowsPerSegment?: number,
  ) {
    this.#buffers = Array.isArray(buffer) ? buffer : [buffer];
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
    this.viewRowsPerBatch = viewRowsPerBatch;
    this.rowsPerSegment = rowsPerSegment;
  }

  /** Whether `t` is split into segments (ops that cannot take split tensors check this). */
  static isSplit(t: Tensor): boolean {
    return t instanceof DawnTensor && t.rowsPerSegment !== undefined;
  }

  /** The buffer behind a dense handle; throws on a foreign, disposed, split or view tensor. */
  static buffer(t: Tensor, what = 'tensor'): GPUBuffer {
    const own = DawnTensor.#own(t, what);
    if (own.viewRowsPerBatch !== undefined) {
      throw new Error(
        `${what} is a KV-cache view (kvCachePrefix); only attentionForward reads views`,
      );
    }
    const buffers = own.#live(what);
    if (own.rowsPerSegment !== undefined) {
      throw new Error(
        `${what} [${own.shape}] is split into ${buffers.length} row segments (larger than the binding limit); this op does not take split tensors`,
      );
    }
    return buffers[0];
  }

  /** The row segments of a dense or split tensor (a dense one is a single segment). */
  static segments(t: Tensor, what = 'tensor'): Segment[] {
    const own = DawnTensor.#own(t, what);
    if (own.viewRowsPerBatch !== undefined)
      throw new Error(`${what} is a KV-cache view (kvCachePrefix); copy it first`);
    return own.#layout(own.#live(what));
  }

  /** `buffers` (one per segment) with the rows and elements each holds. */
  #layout(buffers: GPUBuffer[]): Segment[] {
    const rows = this.shape.length === 0 ? 1 : this.shape[0];
    const width = rows === 0 ? 0 : this.size / rows;
    const per = this.rowsPerSegment ?? rows;
    return buffers.map((buffer, i) => {
      const row0 = i * per;
      const n = Math.min(per, rows - row0);
      return { buffer, row0, rows: n, elem0: row0 * width, elems: n * width };
    });
  }

  /** The buffer of a dense tensor or a view, with a view's rows per batch (undefined if dense). */
  static view(t: Tensor, what = 'tensor'): { buffer: GPUBuffer; rowsPerBatch: number | undefined } {
    const own = DawnTensor.#own(t, what);
    if (own.rowsPerSegment !== undefined) DawnTensor.buffer(t, what); // throws, naming it
    return { buffer: own.#live(what)[0], rowsPerBatch: own.viewRowsPerBatch };
  }

  /** Detaches the handle; returns its buffers and compute copy for the pool (none for a view). */
  static detach(t: Tensor): GPUBuffer[] {
    const own = DawnTensor.#own(t, 'dispose');
    const b = [...(own.#buffers ?? []), ...(own.#compute?.buffers ?? [])];
    own.#buffers = null;
    own.#compute = undefined;
    own.#masterOnHost = false;
    return own.viewRowsPerBatch === undefined ? b : [];
  }

  /**
   * Gives a weight its compute copy (`--dtype bf16|f16`): one buffer per segment, the same
   * rows, 2 bytes per element. Kernels that read weights (matmul's b, embedding gather) take
   * it instead of the f32 master; the optimizer refreshes it (kernels/convert).
   */
  static attachComputeCopy(t: Tensor, dtype: 'bf16' | 'f16', buffers: GPUBuffer[]): void {
    const own = DawnTensor.#own(t, 'compute copy');
    if (buffers.length !== own.#live('compute copy').length)
      throw new Error('compute copy: one buffer per segment expected');
    own.#compute = { dtype, buffers };
  }

  /**
   * Gives up the f32 buffers of a weight that has a compute copy (the optimizer on the host
   * keeps the f32 master there) and returns them for the pool. The weight is then read only
   * through its compute copy (`weightSegments`); every op that needs its f32 values refuses it
   * by name.
   */
  static dropMaster(t: Tensor): GPUBuffer[] {
    const own = DawnTensor.#own(t, 'dropMaster');
    const buffers = own.#live('dropMaster');
    if (!own.#compute)
      throw new Error(`dropMaster: [${own.shape}] has no compute copy to keep instead`);
    own.#buffers = null;
    own.#masterOnHost = true;
    return buffers;
  }

  /** Whether the tensor's f32 buffers were given up (`dropMaster`). */
  static masterOnHost(t: Tensor): boolean {
    return t instanceof DawnTensor && t.#masterOnHost;
  }

  /** The compute copy's buffers (one per segment), if the tensor has one. */
  static computeCopy(t: Tensor): GPUBuffer[] | undefined {
    return t instanceof DawnTensor ? t.#compute?.buffers : undefined;
  }

  /** 'bf16' / 'f16' when `t` has a compute copy, else 'f32' (kernels read the master). */
  static weightDtype(t: Tensor): 'f32' | 'bf16' | 'f16' {
    return t instanceof DawnTensor ? (t.#compute?.dtype ?? 'f32') : 'f32';
  }

  /** The segments a weight-reading kernel binds: the compute copy's buffers where there is one. */
  static weightSegments(t: Tensor, what = 'tensor'): Segment[] {
    const copy = DawnTensor.computeCopy(t);
    if (!copy) return DawnTensor.segments(t, what);
    return DawnTensor.#own(t, what).#layout(copy);
  }

  static #own(t: Tensor, what: string): DawnTensor {
    if (!(t instanceof DawnTensor))
      throw new Error(`${what} is not a Dawn tensor (was it created by another backend?)`);
    return t;
  }

  #live(what: string): GPUBuffer[] {
    if (this.#buffers) return this.#buffers;
    if (this.#masterOnHost)
      throw new Error(
        `${what} [${this.shape.join(', ')}] keeps only its ${this.#compute?.dtype} compute copy on the device (the optimizer runs on the host, which holds the f32 master); this op needs the f32 values`,
      );
    throw new Error(`${what} [${this.shape.join(', ')}] was used after dispose()`);
  }
}
