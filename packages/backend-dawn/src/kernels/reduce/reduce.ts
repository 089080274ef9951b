import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './reduce.wgsl');
const params = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['n', 'u32'],
  ['groups', 'u32'],
] as const;

export const reduce = family('reduce', source, params, {
  sum_rows: { bindings: { x: 1, out: 2 }, workgroupSize: 64 },
  sum_squares: { bindings: { x: 1, out: 2 }, workgroupSize: 256 },
  sum_partials: { bindings: { x: 1, out: 2 }, workgroupSize: 256 },
});

/** x [N, C] → [C] */
export function sumRows(ctx: KernelContext, x: Tensor): Tensor {
  const cols = x.shape[x.shape.length - 1];
  const rows = numel(x.shape) / cols;
  const out = ctx.alloc([cols]);
  ctx.queue.dispatch(
    reduce.sum_rows,
    { rows, cols, n: 0, groups: 0 },
    { x: buf(x, 'sumRows x'), out: buf(out, '') },
    ceilDiv(cols, 64),
  );
  return out;
}

/** Σ x² → [1], in two stages: at most 1024 workgroup partials, then one workgroup. */
export function sumSquares(ctx: KernelContext, x: Tensor): Tensor {
  const n = numel(x.shape);
  const groups = Math.max(1, Math.min(1024, ceilDiv(n, 256)));
  const partial = ctx.alloc([groups]);
  const out = ctx.alloc([1]);
  ctx.queue.dispatch(
    reduce.sum_squares,
    { rows: 0, cols: 0, n, groups },
    { x: buf(x, 'sumSquares x'), out: buf(partial, '') },
    [groups, 1],
  );
  ctx.queue.dispatch(
    reduce.sum_partials,
    { rows: 0, cols: 0, n: groups, groups: 1 },
    { x: buf(partial, ''), out: buf(out, '') },
    [1, 1],
  );
  ctx.dispose(partial);
  return out;
}
