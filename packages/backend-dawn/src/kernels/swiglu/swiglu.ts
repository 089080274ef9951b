import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel, sameSize } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

export const swiglu = family('swiglu', wgsl(import.meta.url, './swiglu.wgsl'), [['n', 'u32']], {
  forward: { bindings: { gate: 1, up: 2, out: 3 } },
  backward: { bindings: { gate: 1, up: 2, out: 3, d_out: 4, d_up: 5 } },
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
