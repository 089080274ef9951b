import type { AttentionOptions, Tensor } from '@oneshot-em/core';
import {
  buf,
  ceilDiv,
  expectDtype,
  type KernelContext,
  numel,
  sameSize,
} from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, wgsl } from '../kernel.js';

const params = [
  ['b', 'u32'],
  ['t', 'u32'],
  ['s', 'u32'],
  ['h', 'u32'],
  ['k', 'u32'],
  ['d', 'u32'],
  ['q_offset', 'u32'],
  ['scale', 'f32'],
  ['kv_rows', 'u32'],
] as const;

/** The largest head dimension the kernels hold in workgroup memory. */
export const ATTENTION_MAX_HEAD_DIM = 256;

export const attention = {
  ...family('attention', wgsl(import.meta.url, './attention.wgsl'), params, {
    forward: { bindings: { q: 1, k: 2, v: 3, mask: 4, out: 5, lse: 6 } },
  }),
  ...family('attention.backward', wgsl(import.meta.url, './attention.backward.wgsl'), params, {
    delta_rows: { bindings: { out: 5, d_out: 7, delta: 8 } },
    dq_rows: { bindings: { q: 1, k: 2, v: 3, mask: 4, lse: 6, d_out: 7, dq: 9, delta_in: 12 } },
    dkv_rows: {
      bindings: { q: 1, k: 2, v: 3, mask: 4, lse: 6, d_out: 7, dk: 10, dv: 11, delta_in: 12 },
    },
  }),
};

/** B and S from keyMask [B, S], T from the element count of q (the model's 2-D layout). */
function dims(q: Tensor, k: Tensor, keyMask: Tensor, o: AttentionOptions) {
  expectDtype(keyMask, 'i32', 'attention keyMask');
  const [B, S] = keyMask.shape;
  const T = numel(q.shape) / (B * o.heads * o.headDim);
  if (
    !Number.isInteger(T) ||
    numel(k.shape) !== B * S * o.kvHeads * o.headDim ||
    o.heads % o.kvHeads !== 0
  ) {
    throw new Error(
      `attention: q [${q.shape}], k [${k.shape}], keyMask [${keyMask.shape}] do not fit heads ${o.heads}, kvHeads ${o.kvHeads}, headDim ${o.headDim}`,
    );
  }
  if (o.headDim > ATTENTION_MAX_HEAD_DIM) {
    throw new Error(
      `attention: headDim ${o.headDim} exceeds the kernel limit ${ATTENTION_MAX_HEAD_DIM}`,
    );
  }
  const scale = 1 / Math.sqrt(o.headDim);
  return {
    b: B,
    t: T,
    s: S,
    h: o.heads,
    k: o.kvHeads,
    d: o.headDim,
    q_offset: o.queryOffset,
    scale,
    kv_rows: S,
  };
}

/** k and v may be KV-cache views (kvCachePrefix): the kernel then strides batches by the cache's Smax. */
export function attentionForward(
  ctx: KernelContext,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keyMask: Tensor,
  o: AttentionOptions,
): { out: Tensor; lse: Tensor } {
  const p = dims(q, k, keyMask, o);
  sameSize(k, v, 'attentionForward k/v');
  const kView = DawnTensor.view(k, 'k');
  const vView = DawnTensor.view(v, 'v');
  if (kView.rowsPerBatch !== vView.rowsPerBatch) {
    throw new Error(
      'attentionForward: k and v must both be KV-cache views of equal length, or both dense',
    );
  }
  const out = ctx.alloc(q.shape);
  const lse = ctx.alloc([p.b, p.h, p.t]);
  ctx.queue.dispatch(
    attention.forward,
    { ...p, kv_rows: kView.rowsPerBatch ?? p.s },
    {
      q: buf(q, 'q'),
      k: kView.buffer,
      v: vView.buffer,
      mask: buf(keyMask, 'keyMask'),
      out: buf(out, ''),
      lse: buf(lse, ''),
    },
    p.b * p.h * p.t,
  );
  return { out, lse };
}

/** → dq [B, T, H·D], dk/dv [B, S, K·D]; P is recomputed from lse (no [T, S] matrix). */
export function attentionBackward(
  ctx: KernelContext,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keyMask: Tensor,
  out: Tensor,
  lse: Tensor,
  dOut: Tensor,
  o: AttentionOptions,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const p = dims(q, k, keyMask, o);
  const rows = p.b * p.h * p.t;
  const delta = ctx.alloc([p.b, p.h, p.t]);
  const dq = ctx.alloc(q.shape);
  const dk = ctx.alloc(k.shape);
  const dv = ctx.alloc(v.shape);
  const common = {
    q: buf(q, 'q'),
    k: buf(k, 'k'),
    v: buf(v, 'v'),
    mask: buf(keyMask, 'keyMask'),
    lse: buf(lse, 'lse'),
    d_out: buf(dOut, 'dOut'),
  };
  ctx.queue.dispatch(
    attention.delta_rows,
    p,
    { out: buf(out, 'out'), d_out: common.d_out, delta: buf(delta, '') },
    ceilDiv(rows, 64),
  );
  ctx.queue.dispatch(
    attention.dq_rows,
    p,
    { ...common, dq: buf(dq, ''), delta_in: buf(delta, '') },
    rows,
  );
  ctx.queue.dispatch(
    attention.dkv_rows,
    p,
    { ...common, dk: buf(dk, ''), dv: buf(dv, ''), delta_in: buf(delta, '') },
    p.b * p.k * p.s,
  );
  ctx.dispose(delta);
  return { dq, dk, dv };
}
