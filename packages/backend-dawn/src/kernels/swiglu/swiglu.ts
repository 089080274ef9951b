import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel, sameSize } from '../../runtime/context.js';
import { family, type KernelInterface, wgsl } from '../kernel.js';

const iface: KernelInterface = {
  params: [['n', 'u32']],
  bindings: {
    gate: [1, 'read', 'f32'],
    up: [2, 'read', 'f32'],
    out: [3, 'read_write', 'f32'],
    d_out: [4, 'read', 'f32'],
    d_up: [5, 'read_write', 'f32'],
  },
};

export const swiglu = family('swiglu', wgsl(import.meta.url, './swiglu.wgsl'), iface, {
  forward: { uses: ['gate', 'up', 'out'] },
  backward: { uses: ['gate', 'up', 'out', 'd_out', 'd_up'] },
});

/** silu(gate) · up, both [N, F] */
export function swigluForward(ctx: KernelContext, gate: Tensor, up: Tensor): Tensor {
  sameSize(gate, up, 'swigluForward');
  const n = numel(gate.shape);
  const out = ctx.alloc(gate.shape);
  ctx.queue.dispatch(
    swiglu.forward,
    { n },
    { gate: buf(gate, 'gate'), up: buf(up, 'up'), out: buf(out, '') },
    ceilDiv(n, 64),
  );
  return out;
}

export function swigluBackward(
  ctx: KernelContext,
  gate: Tensor,
  up: Tensor,
  dOut: Tensor,
): { dGate: Tensor; dUp: Tensor } {
  sameSize(gate, up, 'swigluBackward');
  sameSize(gate, dOut, 'swigluBackward');
  const n = numel(gate.shape);
  const dGate = ctx.alloc(gate.shape);
  const dUp = ctx.alloc(up.shape);
  ctx.queue.dispatch(
    swiglu.backward,
    { n },
    {
      gate: buf(gate, 'gate'),
      up: buf(up, 'up'),
      d_out: buf(dOut, 'dOut'),
      out: buf(dGate, ''),
      d_up: buf(dUp, ''),
    },
    ceilDiv(n, 64),
  );
  return { dGate, dUp };
}
