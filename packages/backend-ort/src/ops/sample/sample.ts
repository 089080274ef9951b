import type { SamplingParams, Tensor } from '@oneshot-em/core';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitMarkPresent, emitSample } from './sample-graph.js';

export function sample(
  ctx: Tracer,
  logits: Tensor,
  presence: Tensor,
  uniforms: Tensor,
  params: SamplingParams,
): OrtTensor {
  const [B, V] = logits.shape;
  return ctx.trace1(
    [logits, presence, uniforms],
    [B],
    (b, [z, p, u]) => [emitSample(b, z.name, p.name, u.name, B, V, params)],
    'i32',
  );
}

/** In place: re-points `presence` to presence with `ids` marked. */
export function markPresent(ctx: Tracer, presence: Tensor, ids: Tensor): void {
  const [B] = presence.shape;
  const [next] = ctx.values(
    [OrtTensor.valueOf(presence), OrtTensor.valueOf(ids)],
    [{ shape: presence.shape, dtype: 'i32' }],
    (b, [p, i]) => [emitMarkPresent(b, p.name, i.name, B)],
  );
  ctx.repoint(presence, next);
}
