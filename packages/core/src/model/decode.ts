/**
 * Incremental decoding with a KV cache: per layer k and v [B, Smax, K·D]. `prefill` runs the
 * prompt through and fills rows [0, P); each `decodeStep` appends one position per sequence
 * and returns its logits. Both are plain sequences of `TensorOps` calls over the cache, so a
 * tracing backend can record one decode step.
 */
import type { Tensor, TensorOps } from '../backend/tensor-ops.js';
import type { ModelConfig } from './config.js';
import { disposeActivations, layerForward } from './forward.js';
import { modelLogits } from './head.js';
import { EMBED, FINAL_NORM } from './params.js';
import { type ModelWeights, weight } from './weights.js';

export interface KvCache {
  /** per layer: [B, Smax, K·D] each */
  layers: Array<{ k: Tensor; v: Tensor }>;
  B: number;
  /** Smax */
  maxLength: number;
  /** rows filled so far */
  length: number;
}

export function createKvCache(
  ops: TensorOps,
  config: ModelConfig,
  B: number,
  maxLength: number,
): KvCache {
  const shape = [B, maxLength, config.numKvHeads * config.headDim];
  const layers = Array.from({ length: config.numLayers }, () => ({
    k: ops.zeros(shape),
    v: ops.zeros(shape),
  }));
  return { layers, B, maxLength, length: 0 };
}

export function disposeKvCache(ops: TensorOps, cache: KvCache): void {
  for (const { k, v } of cache.layers) {
    ops.dispose(k);
    ops.dispose(v);
  }
}

/**
 * T new positions per sequence through the model, attending to the cache and appending to
 * it. ids, positions [B·T] i32; keyMask [B, length + T] i32 over everything cached plus the
 * new positions → hidden [B·T, C] after the final norm.
 */
export function cachedForward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  cache: KvCache,
  ids: Tensor,
  positions: Tensor,
  keyMask: Tensor,
): Tensor {
  const T = ids.shape[0] / cache.B;
  if (keyMask.shape[0] !== cache.B || keyMask.shape[1] !== cache.length + T) {
    throw new Error(
      `cachedForward: keyMask [${keyMask.shape}]; expected [${cache.B}, ${cache.length + T}]`,
    );
  }
  let x = ops.embeddingForward(ids, weight(w, EMBED)); // [B·T, C]
  for (let l = 0; l < config.numLayers; l++) {
    const layerCache = { ...cache.layers[l], start: cache.length };
    const { out, saved } = layerForward(ops, config, w, l, x, positions, keyMask, layerCache);
    disposeActivations(ops, saved);
    ops.dispose(x);
    x = out;
  }
  cache.length += T;
  const { out: hidden, rstd } = ops.rmsnormForward(x, weight(w, FINAL_NORM), config.rmsNormEps);
  ops.dispose(x);
  ops.dispose(rstd);
  return hidden;
}

/** Fills the cache with a [B, T] prompt block (ids, positions [B·T], keyMask [B, T]). */
export function prefill(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  cache: KvCache,
  ids: Tensor,
  positions: Tensor,
  keyMask: Tensor,
): void {
  ops.dispose(cachedForward(ops, config, w, cache, ids, positions, keyMask));
}

/** One new token per sequence: ids, positions [B] i32, keyMask [B, length + 1] → logits [B, V]. */
export function decodeStep(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  cache: KvCache,
  ids: Tensor,
  positions: Tensor,
  keyMask: Tensor,
): Tensor {
  const hidden = cachedForward(ops, config, w, cache, ids, positions, keyMask); // [B, C]
  const logits = modelLogits(ops, config, w, hidden); // [B, V]
  ops.dispose(hidden);
  return logits;
}
