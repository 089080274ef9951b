import type { AttentionOptions } from '@oneshot-em/core';
import type { GraphBuilder } from '../../graph/builder.js';

/** A finite stand-in for −∞ in masked scores (keeps max-subtraction NaN-free on every EP). */
const MASKED = -3.0e38;

/**
 * B and T are baked into the graph; S (keys) is not: it is read from keyMask's shape in the
 * graph and every reshape over it uses −1, so the same graph serves every cache length of a
 * decode loop (one compiled session instead of one per step).
 */
interface Dims {
  B: number;
  T: number;
}

/** [B, X, heads·D] → [B, heads, X, D] */
function splitHeads(
  b: GraphBuilder,
  x: string,
  batch: number,
  len: number,
  heads: number,
  d: number,
): string {
  return b.transpose(b.reshape(x, [batch, len, heads, d]), [0, 2, 1, 3]);
}

/** [B, S, K·D] (or [B·S, K·D]) → [B, K, S, D] with S left to the graph. */
function splitKvHeads(b: GraphBuilder, x: string, batch: number, heads: number, d: number): string {
  return b.transpose(b.reshape(x, [batch, -1, heads, d]), [0, 2, 1, 3]);
}

/** kv [B, K, S, D] → [B, H, S, D]: query head h reads kv head floor(h / (H/K)). */
function repeatKv(b: GraphBuilder, kv: string, dims: Dims, o: AttentionOptions): string {
  const group = o.heads / o.kvHeads;
  if (group === 1) return kv;
  const u = b.op('Unsqueeze', [kv, b.i64([2])]);
  const e = b.op('Expand', [u, b.i64([1, 1, group, 1, 1])]);
  return b.reshape(e, [dims.B, o.heads, -1, o.headDim]);
}

/**
 * allowed [B, 1, T, S] bool: keyMask[b, s] = 1 and s ≤ queryOffset + t. `offset` is an i64
 * scalar in the graph (a fed input, or the decode Loop's cursor).
 */
function visible(b: GraphBuilder, keyMask: string, dims: Dims, offset: string): string {
  const t = b.op('Range', [offset, b.op('Add', [offset, scalarI64(b, dims.T)]), scalarI64(b, 1)]);
  const S = b.op('Gather', [b.op('Shape', [keyMask]), scalarI64(b, 1)]);
  const s = b.op('Range', [scalarI64(b, 0), S, scalarI64(b, 1)]);
  const causal = b.op('LessOrEqual', [b.reshape(s, [1, -1]), b.reshape(t, [dims.T, 1])]);
  const km = b.reshape(b.op('Equal', [keyMask, b.constant('i32', [1], [])]), [dims.B, 1, 1, -1]);
  return b.op('And', [b.reshape(causal, [1, 1, dims.T, -1]), km]);
}

function scalarI64(b: GraphBuilder, v: number): string {
  return b.constant('i64', [v], []);
}

/** scores [B, H, T, S] = q·kᵀ / sqrt(D) */
function scores(b: GraphBuilder, q4: string, k4: string, o: AttentionOptions): string {
  const s = b.op('MatMul', [q4, b.transpose(k4, [0, 1, 3, 2])]);
  return b.op('Mul', [s, b.scalarF32(1 / Math.sqrt(o.headDim))]);
}

/**
 * Causal GQA attention. q [B, T, H·D], k/v [B, S, K·D], keyMask [B, S] →
 * out [B, T, H·D], lse [B, H, T]. Masked scores are dropped after the exp, so a row with no
 * visible key sums to 0: out 0 and lse = log 0 = −∞, as the contract asks.
 */
export function emitAttentionForward(
  b: GraphBuilder,
  q: string,
  k: string,
  v: string,
  keyMask: string,
  dims: Dims,
  o: AttentionOptions,
  offset: string,
): string[] {
  const q4 = splitHeads(b, q, dims.B, dims.T, o.heads, o.headDim);
  const k4 = repeatKv(b, splitKvHeads(b, k, dims.B, o.kvHeads, o.headDim), dims, o);
  const v4 = repeatKv(b, splitKvHeads(b, v, dims.B, o.kvHeads, o.headDim), dims, o);
  const allowed = visible(b, keyMask, dims, offset);
  const sc = scores(b, q4, k4, o);
  const masked = b.op('Where', [allowed, sc, b.scalarF32(MASKED)]);
  const m = b.reduceMax(masked, [3], true);
  const e = b.op('Where', [allowed, b.op('Exp', [b.op('Sub', [masked, m])]), b.scalarF32(0)]);
  const sum = b.reduceSum(e, [3], true);
  const p = b.op('Div', [e, b.op('Max', [sum, b.scalarF32(1e-30)])]);
  const out4 = b.op('MatMul', [p, v4]);
  const out = b.reshape(b.transpose(out4, [0, 2, 1, 3]), [dims.B, dims.T, o.heads * o.headDim]);
  const lse = b.reshape(b.op('Add', [m, b.op('Log', [sum])]), [dims.B, o.heads, dims.T]);
  return [out, lse];
}

/** [B, H, S, D] → [B, S, K·D] (S from the graph), summing the H/K query heads that share each kv head. */
function reduceKv(b: GraphBuilder, g: string, dims: Dims, o: AttentionOptions): string {
  const group = o.heads / o.kvHeads;
  let kv = g;
  if (group > 1) {
    kv = b.reduceSum(b.reshape(g, [dims.B, o.kvHeads, group, -1, o.headDim]), [2], false);
  }
  return b.reshape(b.transpose(kv, [0, 2, 1, 3]), [dims.B, -1, o.kvHeads * o.headDim]);
}

/**
 * P = exp(scores − lse) on visible keys; dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P ∘ (dP − rowsum(dO ∘ O));
 * dQ = dS·K / sqrt(D); dK = dSᵀ·Q / sqrt(D). Recomputes P from lse (no [T, S] tensor saved).
 */
export function emitAttentionBackward(
  b: GraphBuilder,
  q: string,
  k: string,
  v: string,
  keyMask: string,
  out: string,
  lse: string,
  dOut: string,
  dims: Dims,
  o: AttentionOptions,
  offset: string,
): string[] {
  const q4 = splitHeads(b, q, dims.B, dims.T, o.heads, o.headDim);
  const k4 = repeatKv(b, splitKvHeads(b, k, dims.B, o.kvHeads, o.headDim), dims, o);
  const v4 = repeatKv(b, splitKvHeads(b, v, dims.B, o.kvHeads, o.headDim), dims, o);
  const o4 = splitHeads(b, out, dims.B, dims.T, o.heads, o.headDim);
  const dO4 = splitHeads(b, dOut, dims.B, dims.T, o.heads, o.headDim);
  const allowed = visible(b, keyMask, dims, offset);
  const sc = scores(b, q4, k4, o);
  const l = b.reshape(lse, [dims.B, o.heads, dims.T, 1]);
  const masked = b.op('Where', [allowed, sc, b.scalarF32(MASKED)]);
  const p = b.op('Where', [allowed, b.op('Exp', [b.op('Sub', [masked, l])]), b.scalarF32(0)]);
  const dV4 = b.op('MatMul', [b.transpose(p, [0, 1, 3, 2]), dO4]);
  const dP = b.op('MatMul', [dO4, b.transpose(v4, [0, 1, 3, 2])]);
  const rowDot = b.reduceSum(b.op('Mul', [dO4, o4]), [3], true);
  const dS = b.op('Mul', [
    b.op('Mul', [p, b.op('Sub', [dP, rowDot])]),
    b.scalarF32(1 / Math.sqrt(o.headDim)),
  ]);
  const dQ4 = b.op('MatMul', [dS, k4]);
  const dK4 = b.op('MatMul', [b.transpose(dS, [0, 1, 3, 2]), q4]);
  const dq = b.reshape(b.transpose(dQ4, [0, 2, 1, 3]), [dims.B, dims.T, o.heads * o.headDim]);
  return [dq, reduceKv(b, dK4, dims, o), reduceKv(b, dV4, dims, o)];
}
