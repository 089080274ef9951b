import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel, sameSize } from '../../runtime/context.js';
import { reductionFamilies, wgsl } from '../kernel.js';
import { columnChunks, sumColumns, sumFragments } from '../reduce/reduce.js';

export const rmsnorm = reductionFamilies(
  'rmsnorm',
  wgsl(import.meta.url, './rmsnorm.wgsl'),
  sumFragments,
  {
    params: [
      ['n', 'u32'],
      ['c', 'u32'],
      ['eps', 'f32'],
      ['chunks', 'u32'], // backward_weight: row chunks
    ],
    bindings: {
      x: [1, 'read', 'f32'],
      w: [2, 'read', 'f32'],
      out: [3, 'read_write', 'f32'],
      rstd_out: [4, 'read_write', 'f32'],
      rstd: [5, 'read', 'f32'],
      d_out: [6, 'read', 'f32'],
    },
  },
  {
    forward: { uses: ['x', 'w', 'out', 'rstd_out'] },
    backward_input: { uses: ['x', 'w', 'out', 'rstd', 'd_out'] },
    backward_weight: { uses: ['x', 'out', 'rstd', 'd_out'] },
  },
);

/** N and C of x [N, C] (any shape of N·C elements) normalised by weight [C]. */
function rowsOf(x: Tensor, weight: Tensor, what: string): { n: number; c: number } {
  const c = weight.shape[0];
  const n = numel(x.shape) / c;
  if (!Number.isInteger(n)) throw new Error(`${what}: x [${x.shape}] vs weight [${weight.shape}]`);
  return { n, c };
}

/** x [N, C], weight [C] → out [N, C], rstd [N] */
export function rmsnormForward(
  ctx: KernelContext,
  x: Tensor,
  weight: Tensor,
  eps: number,
): { out: Tensor; rstd: Tensor } {
  const { n, c } = rowsOf(x, weight, 'rmsnormForward');
  const out = ctx.alloc(x.shape);
  const rstd = ctx.alloc([n]);
  ctx.queue.dispatch(
    rmsnorm[ctx.reduction].forward,
    { n, c, eps, chunks: 1 },
    {
      x: buf(x, 'rmsnorm x'),
      w: buf(weight, 'rmsnorm weight'),
      out: buf(out, ''),
      rstd_out: buf(rstd, ''),
    },
    n,
  );
  return { out, rstd };
}

/** → dInput [N, C], dWeight [C] (new tensors) */
export function rmsnormBackward(
  ctx: KernelContext,
  x: Tensor,
  weight: Tensor,
  rstd: Tensor,
  dOut: Tensor,
): { dInput: Tensor; dWeight: Tensor } {
  const { n, c } = rowsOf(x, weight, 'rmsnormBackward');
  sameSize(x, dOut, 'rmsnormBackward');
  const dInput = ctx.alloc(x.shape);
  const common = { x: buf(x, 'x'), rstd: buf(rstd, 'rstd'), d_out: buf(dOut, 'dOut') };
  ctx.queue.dispatch(
    rmsnorm[ctx.reduction].backward_input,
    { n, c, eps: 0, chunks: 1 },
    { ...common, w: buf(weight, 'weight'), out: buf(dInput, '') },
    n,
  );
  // dWeight: per-chunk column partials [chunks, C], then their column sums
  const chunks = columnChunks(n);
  const partial = ctx.alloc([chunks, c]);
  ctx.queue.dispatch(
    rmsnorm[ctx.reduction].backward_weight,
    { n, c, eps: 0, chunks },
    { ...common, out: buf(partial, '') },
    [ceilDiv(c, 64), chunks],
  );
  const dWeight = sumColumns(ctx, buf(partial, ''), chunks, c);
  ctx.dispose(partial);
  return { dInput, dWeight };
}
