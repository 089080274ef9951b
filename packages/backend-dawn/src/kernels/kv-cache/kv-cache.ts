import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, wgsl } from '../kernel.js';

export const kvCache = family(
  'kv-cache',
  wgsl(import.meta.url, './kv-cache.wgsl'),
  {
    params: [
      ['b', 'u32'],
      ['rows', 'u32'],
      ['x', 'u32'],
      ['src_len', 'u32'],
      ['src_start', 'u32'],
      ['dst_len', 'u32'],
      ['dst_start', 'u32'],
    ],
    bindings: { src: [1, 'read', 'u32'], dst: [2, 'read_write', 'u32'] },
  },
  { copy_rows: { uses: ['src', 'dst'] } },
);

export interface RowCopy {
  /** batches */
  b: number;
  /** rows copied per batch */
  rows: number;
  /** elements per row */
  x: number;
  /** rows per batch in the source, and the first row copied */
  src_len: number;
  src_start: number;
  dst_len: number;
  dst_start: number;
}

/** Row copies between [B, *, X] buffers (32-bit words, so f32 and i32 alike). */
export function copyRows(ctx: KernelContext, src: GPUBuffer, dst: GPUBuffer, p: RowCopy): void {
  ctx.queue.dispatch(kvCache.copy_rows, { ...p }, { src, dst }, ceilDiv(p.b * p.rows * p.x, 64));
}

/** In place: cache [B, Smax, X] rows [start, start + T) ← rows [B·T, X]. */
export function kvCacheWrite(ctx: KernelContext, cache: Tensor, rows: Tensor, start: number): void {
  const [B, Smax, X] = cache.shape;
  const T = numel(rows.shape) / (B * X);
  if (!Number.isInteger(T) || start < 0 || start + T > Smax) {
    throw new Error(
      `kvCacheWrite: rows [${rows.shape}] at ${start} do not fit cache [${cache.shape}]`,
    );
  }
  copyRows(ctx, buf(rows, 'kvCacheWrite rows'), buf(cache, 'kvCacheWrite cache'), {
    b: B,
    rows: T,
    x: X,
    src_len: T,
    src_start: 0,
    dst_len: Smax,
    dst_start: start,
  });
}

/** cache [B, Smax, X] → a view [B, length, X]: attention reads the cache in place. */
export function kvCachePrefix(cache: Tensor, length: number): Tensor {
  const [B, Smax, X] = cache.shape;
  if (length < 0 || length > Smax)
    throw new Error(`kvCachePrefix: length ${length} outside [0, ${Smax}]`);
  return new DawnTensor(buf(cache, 'kvCachePrefix cache'), [B, length, X], cache.dtype, Smax);
}

/** A dense copy of a KV-cache view (for `read`). */
export function materialise(ctx: KernelContext, view: Tensor): Tensor {
  const { buffer, rowsPerBatch } = DawnTensor.view(view, 'view');
  if (rowsPerBatch === undefined) throw new Error('materialise: not a view');
  const [B, length, X] = view.shape;
  const out = ctx.alloc(view.shape, view.dtype);
  copyRows(ctx, buffer, buf(out, ''), {
    b: B,
    rows: length,
    x: X,
    src_len: rowsPerBatch,
    src_start: 0,
    dst_len: length,
    dst_start: 0,
  });
  return out;
}
