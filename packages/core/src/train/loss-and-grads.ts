import type { Backend } from '../backend/backend.js';
import { type ModelGrads, modelBackward } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { disposeSaved, modelForward } from '../model/forward.js';
import { headBackward, headForward } from '../model/head.js';
import type { ModelWeights } from '../model/weights.js';
import { evaluateObjective, objectiveStats } from '../objectives/objective.js';
import { createObjectiveBatch } from '../objectives/objective-batch.js';
import type { ResolvedObjective } from '../objectives/resolve-objective.js';
import type { TrainBatch } from './batch.js';

export interface LossAndGrads {
  loss: number;
  metrics: Record<string, number>;
  /** one new tensor per parameter */
  grads: ModelGrads;
}

/**
 * One micro-batch through any backend: forward → per-token vocabulary statistics (the only
 * data read back: [N, S] numbers) → the objective and its dL/dstat on the host → the head's
 * dL/dz and the model's backward, on the device.
 */
export async function lossAndGrads(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  batch: TrainBatch,
  objective: ResolvedObjective,
  eosIds: readonly number[],
): Promise<LossAndGrads> {
  const { B, T } = batch;
  const N = B * T;
  const spec = objectiveStats(objective.objective, objective.params);
  const objBatch = createObjectiveBatch({
    B,
    T,
    V: config.vocabSize,
    ids: batch.ids,
    promptLength: batch.promptLength,
    padId: batch.padId,
    eosIds,
  });
  const ids = backend.upload(batch.ids, [N]);
  const positions = backend.upload(batch.positions, [N]);
  const keyMask = backend.upload(batch.keyMask, [B, T]);
  const targets = backend.upload(objBatch.targets, [N]);

  const { hidden, saved } = modelForward(backend, config, w, { ids, positions, keyMask, B, T });
  const statValues = headForward(backend, config, w, hidden, targets, spec); // [N, S]
  const hostStats = await backend.read(statValues);
  const ev = evaluateObjective(objective.objective, objective.params, hostStats, objBatch);

  const coeffs = backend.upload(Float32Array.from(ev.coeffs), [N, spec.stats.length]);
  const { dHidden, dHeadWeight } = headBackward(
    backend,
    config,
    w,
    hidden,
    targets,
    statValues,
    coeffs,
    spec,
  );
  const grads = modelBackward(backend, config, w, saved, dHidden, dHeadWeight);
  for (const t of [dHidden, coeffs, statValues, hidden, targets]) backend.dispose(t);
  disposeSaved(backend, saved);
  for (const t of [ids, positions, keyMask]) backend.dispose(t);
  return { loss: ev.loss, metrics: ev.metrics, grads };
}
