import type { AttentionOptions } from '../backend/tensor-ops.js';
import type { Floats, Ints } from './storage.js';

/**
 * Causal grouped-query attention, one (batch, head, query) row at a time.
 * q [B, T, H·D], k/v [B, S, K·D], keyMask [B, S]. Query row t sits at key index
 * queryOffset + t and sees keys s ≤ queryOffset + t with keyMask[b, s] = 1.
 * out [B, T, H·D] = softmax(q·kᵀ / √D) · v; lse [B, H, T] = log Σ exp(scores) (−∞ and a zero
 * output row when no key is visible).
 */
export interface AttentionDims {
  B: number;
  T: number;
  S: number;
}

export function attentionDims(
  qLength: number,
  keyMaskShape: readonly number[],
  o: AttentionOptions,
): AttentionDims {
  const [B, S] = keyMaskShape;
  return { B, S, T: qLength / (B * o.heads * o.headDim) };
}

/** The sizes both passes loop over: H query heads, K KV heads, group = H / K, 1/√D. */
function sizes(dims: AttentionDims, o: AttentionOptions) {
  const { heads: H, kvHeads: K, headDim: D } = o;
  return { ...dims, H, K, D, group: H / K, scale: 1 / Math.sqrt(D) };
}

function visible(
  keyMask: Ints,
  b: number,
  S: number,
  s: number,
  t: number,
  o: AttentionOptions,
): boolean {
  return s <= o.queryOffset + t && keyMask[b * S + s] === 1;
}

export function attentionForward(
  out: Floats,
  lse: Floats,
  q: Floats,
  k: Floats,
  v: Floats,
  keyMask: Ints,
  dims: AttentionDims,
  o: AttentionOptions,
): void {
  const { B, T, S, H, K, D, group, scale } = sizes(dims, o);
  const scores = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qBase = (b * T + t) * H * D + h * D;
        let max = Number.NEGATIVE_INFINITY;
        for (let s = 0; s < S; s++) {
          if (!visible(keyMask, b, S, s, t, o)) continue;
          const kBase = (b * S + s) * K * D + kvh * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d] * k[kBase + d];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        for (let d = 0; d < D; d++) out[qBase + d] = 0;
        const lseIndex = (b * H + h) * T + t;
        if (max === Number.NEGATIVE_INFINITY) {
          lse[lseIndex] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let sum = 0;
        for (let s = 0; s < S; s++)
          if (visible(keyMask, b, S, s, t, o)) sum += Math.exp(scores[s] - max);
        const rowLse = max + Math.log(sum);
        lse[lseIndex] = rowLse;
        for (let s = 0; s < S; s++) {
          if (!visible(keyMask, b, S, s, t, o)) continue;
          const p = Math.exp(scores[s] - rowLse);
          const vBase = (b * S + s) * K * D + kvh * D;
          for (let d = 0; d < D; d++) out[qBase + d] += p * v[vBase + d];
        }
      }
    }
  }
}

/**
 * dq (overwritten), dk/dv (overwritten; summed over the query heads sharing a kv head).
 * With P = exp(scores − lse): dV = Pᵀ·dOut, dP = dOut·vᵀ, dScores = P ⊙ (dP − rowsum(dOut ⊙ out)),
 * dq = dScores·k / √D, dk = dScoresᵀ·q / √D.
 */
export function attentionBackward(
  dq: Floats,
  dk: Floats,
  dv: Floats,
  q: Floats,
  k: Floats,
  v: Floats,
  keyMask: Ints,
  out: Floats,
  lse: Floats,
  dOut: Floats,
  dims: AttentionDims,
  o: AttentionOptions,
): void {
  const { B, T, S, H, K, D, group, scale } = sizes(dims, o);
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const rowLse = lse[(b * H + h) * T + t];
        if (rowLse === Number.NEGATIVE_INFINITY) continue;
        const qBase = (b * T + t) * H * D + h * D;
        let rowDot = 0;
        for (let d = 0; d < D; d++) rowDot += dOut[qBase + d] * out[qBase + d];
        for (let s = 0; s < S; s++) {
          if (!visible(keyMask, b, S, s, t, o)) continue;
          const kBase = (b * S + s) * K * D + kvh * D;
          let dot = 0;
          let dP = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qBase + d] * k[kBase + d];
            dP += dOut[qBase + d] * v[kBase + d];
          }
          const p = Math.exp(dot * scale - rowLse);
          const dScore = p * (dP - rowDot) * scale;
          for (let d = 0; d < D; d++) {
            dv[kBase + d] += p * dOut[qBase + d];
            dq[qBase + d] += dScore * k[kBase + d];
            dk[kBase + d] += dScore * q[qBase + d];
          }
        }
      }
    }
  }
}
