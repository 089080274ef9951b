import { type AttentionOptions, numel, type Tensor } from '@oneshot-em/core';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitAttentionBackward, emitAttentionForward } from './attention-graph.js';

function attentionDims(q: Tensor, keyMask: Tensor, o: AttentionOptions) {
  const [B, S] = keyMask.shape;
  const T = numel(q.shape) / (B * o.heads * o.headDim);
  if (!Number.isInteger(T) || o.heads % o.kvHeads !== 0) {
    throw new Error(
      `attention: q [${q.shape}] with keyMask [${keyMask.shape}] and heads ${o.heads}/${o.kvHeads}×${o.headDim} do not fit`,
    );
  }
  return { B, S, T };
}

/** The query offset is a graph input (ctx.scalarInput): inside the decode Loop, its cursor. */
export function attentionForward(
  ctx: Tracer,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keyMask: Tensor,
  opts: AttentionOptions,
): { out: OrtTensor; lse: OrtTensor } {
  const dims = attentionDims(q, keyMask, opts);
  const inputs = [q, k, v, keyMask].map(OrtTensor.valueOf);
  const outputs = [
    { shape: q.shape, dtype: 'f32' as const },
    { shape: [dims.B, opts.heads, dims.T], dtype: 'f32' as const },
  ];
  const offset = ctx.scalarInput(opts.queryOffset);
  const [out, lse] = ctx
    .values([...inputs, offset], outputs, (b, [qi, ki, vi, m, c]) => {
      const off = b.cast(c.name, 'i64');
      const [o, l] = emitAttentionForward(b, qi.name, ki.name, vi.name, m.name, dims, opts, off);
      return [b.reshape(o, q.shape), l];
    })
    .map((x) => ctx.handle(x));
  return { out, lse };
}

export function attentionBackward(
  ctx: Tracer,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keyMask: Tensor,
  out: Tensor,
  lse: Tensor,
  dOut: Tensor,
  opts: AttentionOptions,
): { dq: OrtTensor; dk: OrtTensor; dv: OrtTensor } {
  const dims = attentionDims(q, keyMask, opts);
  const inputs = [q, k, v, keyMask, out, lse, dOut].map(OrtTensor.valueOf);
  const outputs = [q, k, v].map((t) => ({ shape: t.shape, dtype: 'f32' as const }));
  const offset = ctx.scalarInput(opts.queryOffset);
  const [dq, dk, dv] = ctx
    .values([...inputs, offset], outputs, (b, [qi, ki, vi, m, oi, li, di, c]) => {
      const names = [qi, ki, vi, m, oi, li, di].map((x) => x.name);
      const [gq, gk, gv] = emitAttentionBackward(
        b,
        ...(names as [string, string, string, string, string, string, string]),
        dims,
        opts,
        b.cast(c.name, 'i64'),
      );
      return [b.reshape(gq, q.shape), b.reshape(gk, k.shape), b.reshape(gv, v.shape)];
    })
    .map((x) => ctx.handle(x));
  return { dq, dk, dv };
}
