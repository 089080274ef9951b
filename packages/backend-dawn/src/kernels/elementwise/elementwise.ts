import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel, sameSize } from '../../runtime/context.js';
import { elementPieces } from '../../runtime/segments.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, type KernelInterface, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './elementwise.wgsl');
const iface: KernelInterface = {
  params: [
    ['n', 'u32'], // elements
    ['c', 'u32'], // bias length (add_bias)
    ['s', 'f32'], // scale factor (scale)
  ],
  bindings: { a: [1, 'read', 'f32'], b: [2, 'read', 'f32'], out: [3, 'read_write', 'f32'] },
};

export const elementwise = family('elementwise', source, iface, {
  add: { uses: ['a', 'b', 'out'] },
  add_into: { uses: ['b', 'out'] },
  scale: { uses: ['a', 'out'] },
  add_bias: { uses: ['a', 'b', 'out'] },
});

export function add(ctx: KernelContext, x: Tensor, y: Tensor): Tensor {
  sameSize(x, y, 'add');
  const n = numel(x.shape);
  const out = ctx.alloc(x.shape);
  if (DawnTensor.isSplit(x) || DawnTensor.isSplit(y) || DawnTensor.isSplit(out)) {
    for (const {
      elems,
      bindings: [a, b, o],
    } of elementPieces([x, y, out], 'add'))
      ctx.queue.dispatch(
        elementwise.add,
        { n: elems, c: 1, s: 0 },
        { a, b, out: o },
        ceilDiv(elems, 64),
      );
    return out;
  }
  ctx.queue.dispatch(
    elementwise.add,
    { n, c: 1, s: 0 },
    { a: buf(x, 'add a'), b: buf(y, 'add b'), out: buf(out, '') },
    ceilDiv(n, 64),
  );
  return out;
}

/** In place: acc += x (gradient accumulation without a new tensor per micro-batch). */
export function accumulate(ctx: KernelContext, acc: Tensor, x: Tensor): void {
  sameSize(acc, x, 'accumulate');
  if (DawnTensor.isSplit(acc) || DawnTensor.isSplit(x)) {
    for (const {
      elems,
      bindings: [o, b],
    } of elementPieces([acc, x], 'accumulate'))
      ctx.queue.dispatch(
        elementwise.add_into,
        { n: elems, c: 1, s: 0 },
        { b, out: o },
        ceilDiv(elems, 64),
      );
    return;
  }
  const n = numel(acc.shape);
  ctx.queue.dispatch(
    elementwise.add_into,
    { n, c: 1, s: 0 },
    { b: buf(x, 'accumulate x'), out: buf(acc, 'accumulate acc') },
    ceilDiv(n, 64),
  );
}

export function scale(ctx: KernelContext, x: Tensor, s: number): Tensor {
  const n = numel(x.shape);
  const out = ctx.alloc(x.shape);
  if (DawnTensor.isSplit(x) || DawnTensor.isSplit(out)) {
    for (const {
      elems,
      bindings: [a, o],
    } of elementPieces([x, out], 'scale'))
      ctx.queue.dispatch(
        elementwise.scale,
        { n: elems, c: 1, s },
        { a, out: o },
        ceilDiv(elems, 64),
      );
    return out;
  }
  ctx.queue.dispatch(
    elementwise.scale,
    { n, c: 1, s },
    { a: buf(x, 'scale x'), out: buf(out, '') },
    ceilDiv(n, 64),
  );
  return out;
}

export function addBias(ctx: KernelContext, x: Tensor, bias: Tensor): Tensor {
  const c = bias.shape[0];
  if (x.shape[x.shape.length - 1] !== c)
    throw new Error(`addBias: x [${x.shape}] vs bias [${bias.shape}]`);
  const n = numel(x.shape);
  const out = ctx.alloc(x.shape);
  ctx.queue.dispatch(
    elementwise.add_bias,
    { n, c, s: 0 },
    { a: buf(x, 'addBias x'), b: buf(bias, 'bias'), out: buf(out, '') },
    ceilDiv(n, 64),
  );
  return out;
}
