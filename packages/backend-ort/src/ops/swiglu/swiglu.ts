import type { Tensor } from '@oneshot-em/core';
import type { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitSwigluBackward, emitSwigluForward } from './swiglu-graph.js';

export function swigluForward(ctx: Tracer, gate: Tensor, up: Tensor): OrtTensor {
  return ctx.trace1([gate, up], gate.shape, (b, [g, u]) => [
    emitSwigluForward(b, g.name, b.reshape(u.name, gate.shape)),
  ]);
}

export function swigluBackward(
  ctx: Tracer,
  gate: Tensor,
  up: Tensor,
  dOut: Tensor,
): { dGate: OrtTensor; dUp: OrtTensor } {
  const [dGate, dUp] = ctx.trace(
    [gate, up, dOut],
    [
      { shape: gate.shape, dtype: 'f32' },
      { shape: up.shape, dtype: 'f32' },
    ],
    (b, [g, u, d]) => {
      const [dg, du] = emitSwigluBackward(
        b,
        g.name,
        b.reshape(u.name, gate.shape),
        b.reshape(d.name, gate.shape),
      );
      return [dg, b.reshape(du, up.shape)];
    },
  );
  return { dGate, dUp };
}
