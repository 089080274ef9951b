import type { Backend } from '../backend/backend.js';
import type { ModelConfig } from '../model/config.js';
import { disposeSaved, modelForward } from '../model/forward.js';
import { headForward } from '../model/head.js';
import type { ModelWeights } from '../model/weights.js';
import {
  type CompletionMaskConvention,
  completionMask,
  createObjectiveBatch,
} from '../objectives/objective-batch.js';
import type { TrainBatch } from './batch.js';

export interface EntropyReport {
  /** mean over masked positions of H(softmax(z / T)) */
  meanEntropy: number;
  /** mean over masked positions of Σ_j p_j² (collision probability) */
  meanCollisionProb: number;
  /** per masked position, for histograms */
  entropies: Float64Array;
  positions: number;
}

/**
 * Mean token entropy of a model on given sequences (no gradient), over the completion positions
 * of `mask` (the paper's convention by default) — the diagnostic of `oneshot-em entropy`.
 */
export async function measureEntropy(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  batch: TrainBatch,
  opts: { temperature: number; mask?: CompletionMaskConvention; eosIds: readonly number[] },
): Promise<EntropyReport> {
  const { B, T } = batch;
  const N = B * T;
  const objBatch = createObjectiveBatch({
    B,
    T,
    V: config.vocabSize,
    ids: batch.ids,
    promptLength: batch.promptLength,
    padId: batch.padId,
    eosIds: opts.eosIds,
  });
  const ids = backend.upload(batch.ids, [N]);
  const positions = backend.upload(batch.positions, [N]);
  const keyMask = backend.upload(batch.keyMask, [B, T]);
  const targets = backend.upload(objBatch.targets, [N]);
  const { hidden, saved } = modelForward(backend, config, w, { ids, positions, keyMask, B, T });
  // H = lse − ez; s2 = Σ p² (the collision probability, a confidence measure that, unlike the
  // max probability, is one of the fused vocabulary statistics every backend has).
  const stats = headForward(backend, config, w, hidden, targets, {
    temperature: opts.temperature,
    stats: ['lse', 'ez', 's2'],
  });
  const host = await backend.read(stats);
  for (const t of [stats, hidden, targets, ids, positions, keyMask]) backend.dispose(t);
  disposeSaved(backend, saved);
  const mask = completionMask(objBatch, opts.mask ?? 'paper');
  const entropies: number[] = [];
  let sumH = 0;
  let sumP = 0;
  for (let i = 0; i < N; i++) {
    if (!mask[i]) continue;
    const h = host[i * 3] - host[i * 3 + 1];
    entropies.push(h);
    sumH += h;
    sumP += host[i * 3 + 2];
  }
  const n = entropies.length;
  return {
    meanEntropy: n ? sumH / n : Number.NaN,
    meanCollisionProb: n ? sumP / n : Number.NaN,
    entropies: Float64Array.from(entropies),
    positions: n,
  };
}
