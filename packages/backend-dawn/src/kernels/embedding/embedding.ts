import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

export const embedding = family(
  'embedding',
  wgsl(import.meta.url, './embedding.wgsl'),
  [
    ['n', 'u32'],
    ['c', 'u32'],
    ['v', 'u32'],
  ],
  {
    gather: { bindings: { ids: 1, src: 2, out: 3 } },
    scatter_add: { bindings: { ids: 1, src: 2, out: 3 } },
  },
);

/** ids [N] i32, table [V, C] → [N, C] */
export function embeddingForward(ctx: KernelContext, ids: Tensor, table: Tensor): Tensor {
  expectDtype(ids, 'i32', 'embeddingForward ids');
  const [V, C] = table.shape;
  const n = numel(ids.shape);
  const out = ctx.alloc([n, C]);
  ctx.queue.dispatch(
    embedding.gather,
    { n, c: C, v: V },
    { ids: buf(ids, 'ids'), src: buf(table, 'table'), out: buf(out, '') },
    ceilDiv(n * C, 64),
  );
  return out;
}

/** ids [N], dOut [N, C] → dTable [V, C] (a new tensor) */
export function embeddingBackward(
  ctx: KernelContext,
  ids: Tensor,
  dOut: Tensor,
  vocabSize: number,
): Tensor {
  expectDtype(ids, 'i32', 'embeddingBackward ids');
  const C = dOut.shape[dOut.shape.length - 1];
  const n = numel(ids.shape);
  const dTable = ctx.alloc([vocabSize, C]);
  ctx.queue.clear(buf(dTable, ''), vocabSize * C * 4);
  ctx.queue.dispatch(
    embedding.scatter_add,
    { n, c: C, v: vocabSize },
    { ids: buf(ids, 'ids'), src: buf(dOut, 'dOut'), out: buf(dTable, '') },
    ceilDiv(C, 64),
  );
  return dTable;
}
