import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { wgsl } from '../kernel.js';
import { weightStorageFamilies } from '../weights.js';

/** One module per weight dtype of the table (kernels/weights.ts); scatter_add uses the f32 one. */
export const embeddingByDtype = weightStorageFamilies(
  'embedding',
  wgsl(import.meta.url, './embedding.wgsl'),
  {
    params: [
      ['n', 'u32'], // tokens
      ['c', 'u32'], // row width
      ['v', 'u32'], // table rows in this segment
      ['buckets', 'u32'], // scatter_add: table rows are split by id % buckets
      ['row0', 'u32'], // the segment's first row
      ['v_total', 'u32'], // rows of the whole table
    ],
    // b: the table (gather reads it through read_b), or scatter_add's d_out rows
    bindings: { ids: [1, 'read', 'i32'], b: [2, 'read', 'f32'], out: [3, 'read_write', 'f32'] },
  },
  {
    gather: { uses: ['ids', 'b', 'out'] },
    scatter_add: { uses: ['ids', 'b', 'out'] },
  },
);
export const embedding = embeddingByDtype.f32;

/** Id buckets of the scatter-add (threads = C × buckets). */
const SCATTER_BUCKETS = 64;

/** ids [N] i32, table [V, C] → [N, C] */
export function embeddingForward(ctx: KernelContext, ids: Tensor, table: Tensor): Tensor {
  expectDtype(ids, 'i32', 'embeddingForward ids');
  const [V, C] = table.shape;
  const n = numel(ids.shape);
  const out = ctx.alloc([n, C]);
  // a split table: one pass per segment, each writing the rows of the ids it holds; a weight
  // with a compute copy (`--dtype`) is read from it
  ctx.asWeight(table);
  const gather = embeddingByDtype[DawnTensor.weightDtype(table)].gather;
  for (const s of DawnTensor.weightSegments(table, 'table')) {
    ctx.queue.dispatch(
      gather,
      { n, c: C, v: s.rows, buckets: 1, row0: s.row0, v_total: V },
      { ids: buf(ids, 'ids'), b: s.buffer, out: buf(out, '') },
      ceilDiv(n * C, 64),
    );
  }
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
  for (const s of DawnTensor.segments(dTable, 'dTable')) {
    ctx.queue.clear(s.buffer, s.elems * 4);
    // more buckets: more threads, each still reading every id (cheap: the same ids for all)
    const buckets = Math.max(1, Math.min(SCATTER_BUCKETS, s.rows));
    ctx.queue.dispatch(
      embedding.scatter_add,
      { n, c: C, v: s.rows, buckets, row0: s.row0, v_total: vocabSize },
      { ids: buf(ids, 'ids'), b: buf(dOut, 'dOut'), out: s.buffer },
      [ceilDiv(C, 64), buckets],
    );
  }
  return dTable;
}
