/**
 * The language-model head, chunked over tokens so that the [N, V] logits never exist whole
 * (a 151,936-token vocabulary makes them gigabytes): per chunk of n tokens the logits
 * [n, V] = hidden [n, C] · W_headᵀ are reduced at once to the per-token statistics (docs/architecture.md#objectives).
 */
import type { Tensor, TensorOps, VocabStatName } from '../backend/tensor-ops.js';
import type { ModelConfig } from './config.js';
import { headWeightName, type ModelWeights, weight } from './weights.js';

export interface HeadOptions {
  temperature: number;
  stats: readonly VocabStatName[];
  /** tokens per chunk (default 256) */
  chunkTokens?: number;
}

const DEFAULT_CHUNK_TOKENS = 256;

function chunks(N: number, size: number): Array<[start: number, count: number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < N; start += size) out.push([start, Math.min(size, N - start)]);
  return out;
}

/** hidden [N, C], targets [N] i32 (next-token ids; read for `zy`) → stats [N, S]. */
export function headForward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  hidden: Tensor,
  targets: Tensor,
  opts: HeadOptions,
): Tensor {
  const wHead = weight(w, headWeightName(config)); // [V, C]
  const parts: Tensor[] = [];
  for (const [start, n] of chunks(hidden.shape[0], opts.chunkTokens ?? DEFAULT_CHUNK_TOKENS)) {
    const h = ops.sliceRows(hidden, start, n); // [n, C]
    const y = ops.sliceRows(targets, start, n); // [n]
    const logits = ops.matmul(h, wHead, { transB: true }); // [n, V]
    parts.push(ops.vocabStats(logits, y, opts)); // [n, S]
    for (const t of [h, y, logits]) ops.dispose(t);
  }
  return concatOwned(ops, parts);
}

/**
 * Given statValues [N, S] from `headForward` and coeffs [N, S] = dL/dstat, recomputes each
 * chunk's logits and returns dHidden [N, C] and dHeadWeight [V, C] (new tensors):
 * dLogits = vocabGrad(...) [n, V]; dHidden = dLogits · W; dHeadWeight += dLogitsᵀ · hidden.
 */
export function headBackward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  hidden: Tensor,
  targets: Tensor,
  statValues: Tensor,
  coeffs: Tensor,
  opts: HeadOptions,
): { dHidden: Tensor; dHeadWeight: Tensor } {
  const wHead = weight(w, headWeightName(config)); // [V, C]
  const parts: Tensor[] = [];
  let dHeadWeight: Tensor | undefined;
  for (const [start, n] of chunks(hidden.shape[0], opts.chunkTokens ?? DEFAULT_CHUNK_TOKENS)) {
    const h = ops.sliceRows(hidden, start, n); // [n, C]
    const y = ops.sliceRows(targets, start, n); // [n]
    const values = ops.sliceRows(statValues, start, n); // [n, S]
    const c = ops.sliceRows(coeffs, start, n); // [n, S]
    const logits = ops.matmul(h, wHead, { transB: true }); // [n, V]
    const dLogits = ops.vocabGrad(logits, y, values, c, opts); // [n, V]
    parts.push(ops.matmul(dLogits, wHead)); // [n, C]
    const dW = ops.matmul(dLogits, h, { transA: true }); // [V, C]
    if (dHeadWeight) {
      const sum = ops.add(dHeadWeight, dW);
      ops.dispose(dHeadWeight);
      ops.dispose(dW);
      dHeadWeight = sum;
    } else {
      dHeadWeight = dW;
    }
    for (const t of [h, y, values, c, logits, dLogits]) ops.dispose(t);
  }
  if (!dHeadWeight) throw new Error('headBackward: no tokens');
  return { dHidden: concatOwned(ops, parts), dHeadWeight };
}

/** hidden [N, C] → logits [N, V], whole (tests and small vocabularies only). */
export function modelLogits(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  hidden: Tensor,
): Tensor {
  return ops.matmul(hidden, weight(w, headWeightName(config)), { transB: true });
}

function concatOwned(ops: TensorOps, parts: Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const out = ops.concatRows(parts);
  for (const p of parts) ops.dispose(p);
  return out;
}
