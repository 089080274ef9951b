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
import { family, type KernelInterface, treeReduction, wgsl } from '../kernel.js';

const params = [
  ['b', 'u32'],
  ['t', 'u32'],
  ['s', 'u32'],
  ['h', 'u32'],
  ['k', 'u32'],
  ['d', 'u32'],
  ['q_offset', 'u32'],
  ['scale', 'f32'],
  // rows per batch in the k/v buffers: S, or Smax for a KV-cache view (the backward takes
  // dense k/v: S)
  ['kv_rows', 'u32'],
] as const;

/** q, k, v, the key mask: the inputs of both passes. */
const inputs = {
  q: [1, 'read', 'f32'],
  k: [2, 'read', 'f32'],
  v: [3, 'read', 'f32'],
  mask: [4, 'read', 'i32'],
} as const;

const forward: KernelInterface = {
  params,
  // lse is written as bits: WGSL has no −∞ literal
  bindings: { ...inputs, out: [5, 'read_write', 'f32'], lse: [6, 'read_write', 'u32'] },
};

const backward: KernelInterface = {
  params,
  bindings: {
    ...inputs,
    out: [5, 'read', 'f32'],
    lse: [6, 'read', 'f32'],
    d_out: [7, 'read', 'f32'],
    delta: [8, 'read_write', 'f32'],
    dq: [9, 'read_write', 'f32'],
    dk: [10, 'read_write', 'f32'],
    dv: [11, 'read_write', 'f32'],
    delta_in: [12, 'read', 'f32'],
  },
};

/** The largest head dimension the kernels hold in workgroup memory. */
export const ATTENTION_MAX_HEAD_DIM = 256;

/** A pass's source: the shared prologue (attention-common.wgsl, MAX_D from here) and its file. */
const source = (file: string) =>
  [
    `const MAX_D: u32 = ${ATTENTION_MAX_HEAD_DIM}u;`,
    wgsl(import.meta.url, './attention-common.wgsl'),
    wgsl(import.meta.url, file),
  ].join('\n');

export const attention = {
  ...family(
    'attention',
    [
      treeReduction('reduce_max', 'f32', (a, b) => `max(${a}, ${b})`),
      treeReduction('reduce_sum', 'f32', (a, b) => `${a} + ${b}`),
      source('./attention.wgsl'),
    ].join('\n'),
    forward,
    {
      forward: { uses: ['q', 'k', 'v', 'mask', 'out', 'lse'] },
    },
  ),
  ...family('attention.backward', source('./attention.backward.wgsl'), backward, {
    delta_rows: { uses: ['out', 'd_out', 'delta'] },
    dq_rows: { uses: ['q', 'k', 'v', 'mask', 'lse', 'd_out', 'dq', 'delta_in'] },
    dkv_rows: {
      uses: ['q', 'k', 'v', 'mask', 'lse', 'd_out', 'dk', 'dv', 'delta_in'],
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
