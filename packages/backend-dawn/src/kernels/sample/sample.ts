import type { SamplingParams, Tensor } from '@oneshot-em/core';
import {
  buf,
  ceilDiv,
  expectDtype,
  type KernelContext,
  numel,
  sameSize,
} from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

export const sampleKernels = family(
  'sample',
  wgsl(import.meta.url, './sample.wgsl'),
  {
    params: [
      ['b', 'u32'],
      ['v', 'u32'],
      ['temperature', 'f32'],
      ['top_p', 'f32'],
      ['top_k', 'u32'],
      ['penalty', 'f32'],
      ['min_p', 'f32'],
    ],
    bindings: {
      logits: [1, 'read', 'f32'],
      presence: [2, 'read', 'i32'],
      uniforms: [3, 'read', 'f32'],
      ids: [4, 'read_write', 'i32'],
      probs: [5, 'read_write', 'f32'],
      presence_out: [6, 'read_write', 'i32'],
    },
  },
  {
    sample: {
      uses: ['logits', 'presence', 'uniforms', 'ids', 'probs'],
      workgroupSize: 256,
    },
    mark_present: { uses: ['ids', 'presence_out'], workgroupSize: 64 },
  },
);

/** logits [B, V], presence [B, V] i32, uniforms [B] → ids [B] i32 (one workgroup per row). */
export function sample(
  ctx: KernelContext,
  logits: Tensor,
  presence: Tensor,
  uniforms: Tensor,
  params: SamplingParams,
): Tensor {
  const [B, V] = logits.shape;
  expectDtype(presence, 'i32', 'sample presence');
  sameSize(logits, presence, 'sample presence');
  if (numel(uniforms.shape) !== B)
    throw new Error(`sample: uniforms [${uniforms.shape}] must be [${B}]`);
  const ids = ctx.alloc([B], 'i32');
  const probs = ctx.alloc([B, V]); // scratch
  ctx.queue.dispatch(
    sampleKernels.sample,
    {
      b: B,
      v: V,
      temperature: params.temperature,
      top_p: params.topP,
      top_k: params.topK,
      penalty: params.repetitionPenalty,
      min_p: params.minP ?? 0,
    },
    {
      logits: buf(logits, 'logits'),
      presence: buf(presence, 'presence'),
      uniforms: buf(uniforms, 'uniforms'),
      ids: buf(ids, ''),
      probs: buf(probs, ''),
    },
    [B, 1],
  );
  ctx.dispose(probs);
  return ids;
}

/** In place: presence[b, ids[b]] = 1. */
export function markPresent(ctx: KernelContext, presence: Tensor, ids: Tensor): void {
  const [B, V] = presence.shape;
  expectDtype(presence, 'i32', 'markPresent presence');
  expectDtype(ids, 'i32', 'markPresent ids');
  ctx.queue.dispatch(
    sampleKernels.mark_present,
    { b: B, v: V, temperature: 0, top_p: 1, top_k: 0, penalty: 1, min_p: 0 },
    { ids: buf(ids, 'ids'), presence_out: buf(presence, 'presence') },
    ceilDiv(B, 64),
  );
}
