import { numel, type Tensor } from '@oneshot-em/core';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitKvCacheWrite, emitKvCacheWriteAt } from './kv-cache-graph.js';

/** In place: re-points `cache` to the cache with `rows` written at `start`. */
export function kvCacheWrite(ctx: Tracer, cache: Tensor, rows: Tensor, start: number): void {
  const [B, Smax, X] = cache.shape;
  const T = numel(rows.shape) / (B * X);
  if (!Number.isInteger(T) || start < 0 || start + T > Smax) {
    throw new Error(
      `kvCacheWrite: rows [${rows.shape}] at ${start} do not fit cache [${cache.shape}]`,
    );
  }
  const c = OrtTensor.valueOf(cache);
  const r = OrtTensor.valueOf(rows);
  const out = [{ shape: cache.shape, dtype: 'f32' as const }];
  // One row per sequence (a decode step): the row index is an input (one graph for all steps).
  const [next] =
    T === 1
      ? ctx.values([c, r, ctx.scalarInput(start)], out, (b, [ci, ri, at]) => [
          emitKvCacheWriteAt(b, ci.name, ri.name, { B, Smax, X }, b.cast(at.name, 'i64')),
        ])
      : ctx.values([c, r], out, (b, [ci, ri]) => [
          emitKvCacheWrite(b, ci.name, ri.name, { B, Smax, X, T }, start),
        ]);
  ctx.repoint(cache, next);
}

export function kvCachePrefix(ctx: Tracer, cache: Tensor, length: number): OrtTensor {
  const [B, Smax, X] = cache.shape;
  if (length < 0 || length > Smax)
    throw new Error(
      `kvCachePrefix: length ${length} outside [0, ${Smax}] of cache [${cache.shape}]`,
    );
  const [prefix] = ctx.values(
    [OrtTensor.valueOf(cache), ctx.scalarInput(length)],
    [{ shape: [B, length, X], dtype: 'f32' }],
    (b, [ci, n]) => {
      const end = b.reshape(b.cast(n.name, 'i64'), [1]);
      return [b.op('Slice', [ci.name, b.i64([0]), end, b.i64([1])])];
    },
  );
  return ctx.handle(prefix);
}
