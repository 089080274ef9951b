import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import {
  type KernelInterface,
  type Reduction,
  reductionFamilies,
  treeReduction,
  wgsl,
} from '../kernel.js';

/** The `workgroup_sum` fragments (see reductionFamilies), shared with rmsnorm. */
export const sumFragments: Record<Reduction, string> = {
  workgroup: [
    treeReduction('tree_sum', 'f32', (a, b) => `${a} + ${b}`),
    wgsl(import.meta.url, './sum-workgroup.wgsl'),
  ].join('\n'),
  subgroup: wgsl(import.meta.url, './sum-subgroup.wgsl'),
};

const source = wgsl(import.meta.url, './reduce.wgsl');
const iface: KernelInterface = {
  params: [
    ['rows', 'u32'],
    ['cols', 'u32'],
    ['n', 'u32'], // elements (sum_squares) or partials (sum_partials)
    ['groups', 'u32'], // workgroups of the first stage
  ],
  bindings: { x: [1, 'read', 'f32'], out: [2, 'read_write', 'f32'] },
};

export const reduce = reductionFamilies('reduce', source, sumFragments, iface, {
  sum_rows: { uses: ['x', 'out'], workgroupSize: 64 },
  sum_squares: { uses: ['x', 'out'], workgroupSize: 256 },
  sum_partials: { uses: ['x', 'out'], workgroupSize: 256 },
});

/** Rows per chunk of a column sum: more rows are split into chunks summed in a second pass. */
const ROWS_PER_CHUNK = 128;

/** x [N, C] → [C] */
export function sumRows(ctx: KernelContext, x: Tensor): Tensor {
  const cols = x.shape[x.shape.length - 1];
  return sumColumns(ctx, buf(x, 'sumRows x'), numel(x.shape) / cols, cols);
}

/**
 * Column sums of a [rows, cols] buffer → a new [cols] tensor. Past ROWS_PER_CHUNK rows the
 * rows are split into chunks (one thread per column and chunk), then the partials are summed:
 * a thread per column alone would walk all N rows serially.
 */
export function sumColumns(ctx: KernelContext, x: GPUBuffer, rows: number, cols: number): Tensor {
  const groups = columnChunks(rows);
  const pass = (src: GPUBuffer, r: number, g: number) => {
    const out = ctx.alloc(g === 1 ? [cols] : [g, cols]);
    ctx.queue.dispatch(
      reduce[ctx.reduction].sum_rows,
      { rows: r, cols, n: 0, groups: g },
      { x: src, out: buf(out, '') },
      [ceilDiv(cols, 64), g],
    );
    return out;
  };
  if (groups <= 1) return pass(x, rows, 1);
  const partial = pass(x, rows, groups);
  const out = pass(buf(partial, ''), groups, 1);
  ctx.dispose(partial);
  return out;
}

/** How many row chunks a column sum over `rows` rows uses (for callers writing their own partials). */
export function columnChunks(rows: number): number {
  return Math.max(1, Math.min(1024, ceilDiv(rows, ROWS_PER_CHUNK)));
}

/**
 * Σ x² → [1], in two stages: at most 1024 workgroup partials, then one workgroup. A split x
 * writes each segment's partials after the previous one's (at most 1024 per segment) and the
 * second stage sums them all.
 */
export function sumSquares(ctx: KernelContext, x: Tensor): Tensor {
  const pieces = DawnTensor.isSplit(x)
    ? DawnTensor.segments(x, 'sumSquares x').map((s) => ({ buffer: s.buffer, n: s.elems }))
    : [{ buffer: buf(x, 'sumSquares x'), n: numel(x.shape) }];
  const counts = pieces.map(({ n }) => Math.max(1, Math.min(1024, ceilDiv(n, 256))));
  // a split x: each segment's partials start at a 256-byte binding offset, the gaps zeroed
  const strides = pieces.length === 1 ? counts : counts.map((g) => ceilDiv(g, 64) * 64);
  const groups = strides.reduce((a, b) => a + b, 0);
  const partial = ctx.alloc([groups]);
  if (pieces.length > 1) ctx.queue.clear(buf(partial, ''), groups * 4);
  const out = ctx.alloc([1]);
  let at = 0;
  pieces.forEach(({ buffer, n }, i) => {
    const g = counts[i];
    ctx.queue.dispatch(
      reduce[ctx.reduction].sum_squares,
      { rows: 0, cols: 0, n, groups: g },
      { x: buffer, out: { buffer: buf(partial, ''), offset: at * 4, size: g * 4 } },
      [g, 1],
    );
    at += strides[i];
  });
  ctx.queue.dispatch(
    reduce[ctx.reduction].sum_partials,
    { rows: 0, cols: 0, n: groups, groups: 1 },
    { x: buf(partial, ''), out: buf(out, '') },
    [1, 1],
  );
  ctx.dispose(partial);
  return out;
}
