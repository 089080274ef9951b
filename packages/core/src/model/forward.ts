/**
 * The Llama / Qwen2 forward, written once over `TensorOps` (shape legend: config.ts).
 * Activations are 2-D [N, X] with N = B·T tokens in batch-major order. Every buffer the
 * backward needs is kept in `saved`.
 */
import type { AttentionOptions, RopeOptions, Tensor, TensorOps } from '../backend/tensor-ops.js';
import type { ModelConfig } from './config.js';
import { EMBED, FINAL_NORM, layerParamNames } from './params.js';
import { type ModelWeights, weight } from './weights.js';

export interface ForwardBatch {
  /** [N] i32 token ids, N = B·T, left padded */
  ids: Tensor;
  /** [N] i32 positions (see `positionsFromMask`) */
  positions: Tensor;
  /** [B, T] i32, 1 = real token */
  keyMask: Tensor;
  B: number;
  T: number;
}

/** One layer's activations, as the backward reads them. */
export interface LayerActivations {
  /** [N, C] residual stream entering the layer */
  x: Tensor;
  /** [N] */
  rstd1: Tensor;
  /** [N, C] input_layernorm output */
  ln1: Tensor;
  /** [N, H·D] q after RoPE */
  q: Tensor;
  /** [B, S, K·D] k after RoPE and v — the attended keys (= this call's [N, K·D] without a cache) */
  k: Tensor;
  v: Tensor;
  /** [N, H·D] attention output, [B, H, T] its log-sum-exp */
  att: Tensor;
  lse: Tensor;
  /** [N, C] residual after attention */
  x1: Tensor;
  /** [N] */
  rstd2: Tensor;
  /** [N, C] post_attention_layernorm output */
  ln2: Tensor;
  /** [N, F] */
  gate: Tensor;
  up: Tensor;
  /** [N, F] silu(gate) · up */
  act: Tensor;
}

export interface ForwardSaved {
  batch: ForwardBatch;
  layers: LayerActivations[];
  /** [N, C] residual entering the final norm, [N] its rstd */
  xFinal: Tensor;
  rstdFinal: Tensor;
}

/** Where a layer's keys and values come from: this call's tokens only, or a KV cache. */
export interface LayerKvCache {
  /** [B, Smax, K·D] each */
  k: Tensor;
  v: Tensor;
  /** rows already in the cache; this call writes [start, start + T) */
  start: number;
}

export function ropeOptions(config: ModelConfig, heads: number): RopeOptions {
  return { heads, headDim: config.headDim, theta: config.ropeTheta, style: config.ropeStyle };
}

export function attentionOptions(config: ModelConfig, queryOffset: number): AttentionOptions {
  return {
    heads: config.numHeads,
    kvHeads: config.numKvHeads,
    headDim: config.headDim,
    queryOffset,
  };
}

/** y [N, out] = x [N, in] · Wᵀ (+ bias) */
export function linear(ops: TensorOps, x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const y = ops.matmul(x, w, { transB: true });
  if (!bias) return y;
  const out = ops.addBias(y, bias);
  ops.dispose(y); // the product without bias is not kept (it leaked 3 tensors per layer per call)
  return out;
}

/**
 * One decoder layer: x [N, C] → x2 [N, C]. keyMask [B, S]; with a cache, k/v are written at
 * rows [start, start + T) and attention reads the cache's first start + T rows.
 */
export function layerForward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  layer: number,
  x: Tensor,
  positions: Tensor,
  keyMask: Tensor,
  cache?: LayerKvCache,
): { out: Tensor; saved: LayerActivations } {
  const n = layerParamNames(layer);
  const qkvBias = (name: string) => (config.qkvBias ? weight(w, name) : undefined);
  const queryOffset = cache ? cache.start : 0;

  const { out: ln1, rstd: rstd1 } = ops.rmsnormForward(
    x,
    weight(w, n.inputNorm),
    config.rmsNormEps,
  );
  const qLinear = linear(ops, ln1, weight(w, n.qWeight), qkvBias(n.qBias)); // [N, H·D]
  const kLinear = linear(ops, ln1, weight(w, n.kWeight), qkvBias(n.kBias)); // [N, K·D]
  const vNew = linear(ops, ln1, weight(w, n.vWeight), qkvBias(n.vBias)); // [N, K·D]
  const q = ops.ropeForward(qLinear, positions, ropeOptions(config, config.numHeads));
  const kNew = ops.ropeForward(kLinear, positions, ropeOptions(config, config.numKvHeads));
  ops.dispose(qLinear);
  ops.dispose(kLinear);
  let k = kNew;
  let v = vNew;
  if (cache) {
    const T = q.shape[0] / keyMask.shape[0];
    ops.kvCacheWrite(cache.k, kNew, cache.start);
    ops.kvCacheWrite(cache.v, vNew, cache.start);
    k = ops.kvCachePrefix(cache.k, cache.start + T);
    v = ops.kvCachePrefix(cache.v, cache.start + T);
  }
  const { out: att, lse } = ops.attentionForward(
    q,
    k,
    v,
    keyMask,
    attentionOptions(config, queryOffset),
  );
  const oBias = config.oBias ? weight(w, n.oBias) : undefined;
  const o = linear(ops, att, weight(w, n.oWeight), oBias); // [N, C]
  const x1 = ops.add(x, o);
  ops.dispose(o);

  const { out: ln2, rstd: rstd2 } = ops.rmsnormForward(
    x1,
    weight(w, n.postNorm),
    config.rmsNormEps,
  );
  const gate = linear(ops, ln2, weight(w, n.gateWeight)); // [N, F]
  const up = linear(ops, ln2, weight(w, n.upWeight)); // [N, F]
  const act = ops.swigluForward(gate, up); // [N, F]
  const mlp = linear(ops, act, weight(w, n.downWeight)); // [N, C]
  const x2 = ops.add(x1, mlp);
  ops.dispose(mlp);
  if (cache) {
    ops.dispose(kNew);
    ops.dispose(vNew);
  }
  return { out: x2, saved: { x, rstd1, ln1, q, k, v, att, lse, x1, rstd2, ln2, gate, up, act } };
}

/** Frees a layer's saved activations except its input `x` (the previous layer's output). */
export function disposeActivations(ops: TensorOps, a: LayerActivations): void {
  for (const t of [
    a.rstd1,
    a.ln1,
    a.q,
    a.k,
    a.v,
    a.att,
    a.lse,
    a.x1,
    a.rstd2,
    a.ln2,
    a.gate,
    a.up,
    a.act,
  ]) {
    ops.dispose(t);
  }
}

/**
 * ids [N] → hidden [N, C] after the final norm (the head's input), like llm.c's gpt2_forward:
 * embedding, L × (attention block, MLP block), final norm.
 */
export function modelForward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  batch: ForwardBatch,
): { hidden: Tensor; saved: ForwardSaved } {
  let x = ops.embeddingForward(batch.ids, weight(w, EMBED)); // [N, C]
  const layers: LayerActivations[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const { out, saved } = layerForward(ops, config, w, l, x, batch.positions, batch.keyMask);
    layers.push(saved);
    x = out;
  }
  const { out: hidden, rstd: rstdFinal } = ops.rmsnormForward(
    x,
    weight(w, FINAL_NORM),
    config.rmsNormEps,
  );
  return { hidden, saved: { batch, layers, xFinal: x, rstdFinal } };
}

/**
 * Positions of a left-padded batch as Hugging Face derives them from the attention mask: the
 * running count of real tokens − 1. Pad positions get 0 (HF writes 1; either way they are
 * masked keys and discarded queries, so the value never reaches a real token).
 * mask [B·T] (1 = real) → positions [B·T].
 */
export function positionsFromMask(mask: ArrayLike<number>, B: number, T: number): Int32Array {
  const positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < T; t++) {
      count += mask[b * T + t];
      positions[b * T + t] = Math.max(count - 1, 0);
    }
  }
  return positions;
}

/** Frees everything `modelForward` saved (the batch's tensors stay with the caller). */
export function disposeSaved(ops: TensorOps, saved: ForwardSaved): void {
  for (const a of saved.layers) {
    ops.dispose(a.x);
    disposeActivations(ops, a);
  }
  ops.dispose(saved.xFinal);
  ops.dispose(saved.rstdFinal);
}
