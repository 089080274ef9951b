import type { RopeOptions, Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

export const rope = family(
  'rope',
  wgsl(import.meta.url, './rope.wgsl'),
  {
    params: [
      ['n', 'u32'],
      ['heads', 'u32'],
      ['d', 'u32'],
      ['style', 'u32'],
      ['direction', 'f32'],
    ],
    bindings: {
      x: [1, 'read', 'f32'],
      positions: [2, 'read', 'i32'],
      table: [3, 'read', 'f32'],
      out: [4, 'read_write', 'f32'],
    },
  },
  { rope: { uses: ['x', 'positions', 'table', 'out'] } },
);

/**
 * The cos/sin tables: a position's |pos| is written in base 256 with four digits (d0 + d1·256
 * + d2·256² + d3·256³, covering every i32), and table level L holds cos/sin of
 * d · 256^L · θ^(−2i/D) for d < 256, computed in f64 and stored as f32 (4 KiB per head-dim
 * pair: 256 KiB at D = 128). The kernel composes the four rotations by the angle-addition
 * formulas: no f32 sin/cos of a large argument anywhere (a GPU's are only as good as its
 * driver), the error a few f32 roundings at any position, exact below 256.
 */
export const ROPE_DIGIT = 256;
export const ROPE_LEVELS = 4;

/** [ROPE_LEVELS, ROPE_DIGIT, D/2, 2] f32: cos/sin of d · ROPE_DIGIT^level · theta^(−2i/D). */
export function ropeTable(theta: number, headDim: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(ROPE_LEVELS * ROPE_DIGIT * half * 2);
  for (let level = 0; level < ROPE_LEVELS; level++) {
    const unit = ROPE_DIGIT ** level;
    for (let i = 0; i < half; i++) {
      const invFreq = theta ** ((-2 * i) / headDim);
      for (let d = 0; d < ROPE_DIGIT; d++) {
        const angle = d * unit * invFreq;
        const at = ((level * ROPE_DIGIT + d) * half + i) * 2;
        out[at] = Math.cos(angle);
        out[at + 1] = Math.sin(angle);
      }
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
    shape: [ROPE_LEVELS, ROPE_DIGIT, o.headDim / 2, 2],
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
