import type { RopeOptions, Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

export const rope = family(
  'rope',
  wgsl(import.meta.url, './rope.wgsl'),
  [
    ['n', 'u32'],
    ['heads', 'u32'],
    ['d', 'u32'],
    ['style', 'u32'],
    ['direction', 'f32'],
    ['table_rows', 'u32'],
    ['theta', 'f32'],
  ],
  { rope: { bindings: { x: 1, positions: 2, table: 3, out: 4 } } },
);

/**
 * Rows of the cos/sin table (Qwen2.5 contexts are 32k). Positions past it fall back to f32
 * angles on the GPU, whose cos/sin of large arguments is only as good as the driver makes it.
 */
export const ROPE_TABLE_ROWS = 32768;

/** cos/sin of pos · theta^(−2i/D) in f64, stored [P, D/2, 2] as f32. */
export function ropeTable(theta: number, headDim: number, rows = ROPE_TABLE_ROWS): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(rows * half * 2);
  for (let i = 0; i < half; i++) {
    const invFreq = theta ** ((-2 * i) / headDim);
    for (let pos = 0; pos < rows; pos++) {
      const angle = pos * invFreq;
      out[(pos * half + i) * 2] = Math.cos(angle);
      out[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}

/** x [N, heads·D], positions [N] → rotated by +angle (direction 1, forward) or −angle (backward). */
export function ropeRotate(
  ctx: KernelContext,
  x: Tensor,
  positions: Tensor,
  o: RopeOptions,
  direction: 1 | -1,
): Tensor {
  const what = direction === 1 ? 'ropeForward' : 'ropeBackward';
  expectDtype(positions, 'i32', `${what} positions`);
  const width = o.heads * o.headDim;
  const n = numel(x.shape) / width;
  if (!Number.isInteger(n) || numel(positions.shape) !== n || o.headDim % 2 !== 0) {
    throw new Error(
      `${what}: x [${x.shape}] is not [N, ${o.heads}·${o.headDim}] for positions [${positions.shape}]`,
    );
  }
  const table = ctx.constant(`rope/${o.theta}/${o.headDim}`, () => ({
    data: ropeTable(o.theta, o.headDim),
    shape: [ROPE_TABLE_ROWS, o.headDim / 2, 2],
  }));
  const out = ctx.alloc(x.shape);
  ctx.queue.dispatch(
    rope.rope,
    {
      n,
      heads: o.heads,
      d: o.headDim,
      style: o.style === 'half' ? 0 : 1,
      direction,
      table_rows: ROPE_TABLE_ROWS,
      theta: o.theta,
    },
    {
      x: buf(x, `${what} x`),
      positions: buf(positions, `${what} positions`),
      table: buf(table, 'rope table'),
      out: buf(out, ''),
    },
    ceilDiv((n * width) / 2, 64),
  );
  return out;
}
