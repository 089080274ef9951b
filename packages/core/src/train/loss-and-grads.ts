import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../backend/tensor-ops.js';
import { type ModelGrads, modelBackward } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { disposeSaved, modelForward } from '../model/forward.js';
import { headBackward, headForward } from '../model/head.js';
import type { ModelWeights } from '../model/weights.js';
import {
  coefficientsBeforeStats,
  type ObjectiveEvaluation,
  evaluateObjective,
  objectiveStats,
  sameCoefficients,
} from '../objectives/objective.js';
import { createObjectiveBatch } from '../objectives/objective-batch.js';
import type { ResolvedObjective } from '../objectives/resolve-objective.js';
import type { TrainBatch } from './batch.js';

export interface LossAndGrads {
  loss: number;
  metrics: Record<string, number>;
  /** one new tensor per parameter */
  grads: ModelGrads;
  /**
   * 'one-pass': the coefficients dL/dstat were known before the statistics (an objective
   * linear in them), so forward, statistics and backward were one program — on a tracing
   * backend one run, the weights fed once. 'two-pass': statistics first, then the backward.
   */
  path: 'one-pass' | 'two-pass';
}

/**
 * One micro-batch through any backend: forward → per-token vocabulary statistics (the only
 * data read back: [N, S] numbers) → the objective's loss and dL/dstat on the host → the head's
 * dL/dz and the model's backward, on the device.
 *
 * When the objective's coefficients do not depend on the statistics
 * (`coefficientsBeforeStats`), they are uploaded first and the whole micro-batch is traced
 * before the one read: a lazy backend (ORT) then runs it as one graph — no activations
 * shipped to the host between a statistics run and a backward run, weights fed once. The
 * statistics still come back for the loss and metrics, and the coefficients they give are
 * checked against the early ones (a mismatch redoes the micro-batch the two-pass way).
 */
export async function lossAndGrads(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  batch: TrainBatch,
  objective: ResolvedObjective,
  eosIds: readonly number[],
  /** 'two-pass' forces the statistics-first path (tests compare the two) */
  opts: { path?: 'auto' | 'two-pass' } = {},
): Promise<LossAndGrads> {
  const { B, T } = batch;
  const objBatch = createObjectiveBatch({
    B,
    T,
    V: config.vocabSize,
    ids: batch.ids,
    promptLength: batch.promptLength,
    padId: batch.padId,
    eosIds,
  });
  const early =
    opts.path === 'two-pass'
      ? null
      : coefficientsBeforeStats(objective.objective, objective.params, objBatch);
  if (early) {
    const r = await microBatch(backend, config, w, batch, objBatch.targets, objective, early);
    const ev = evaluateObjective(objective.objective, objective.params, r.hostStats, objBatch);
    if (sameCoefficients(ev.coeffs, early)) return result(ev, r.grads, 'one-pass');
    for (const g of r.grads.values()) backend.dispose(g);
  }
  let ev: ObjectiveEvaluation | undefined;
  const r = await microBatch(backend, config, w, batch, objBatch.targets, objective, (stats) => {
    ev = evaluateObjective(objective.objective, objective.params, stats, objBatch);
    return ev.coeffs;
  });
  if (!ev) throw new Error('lossAndGrads (internal): the objective was not evaluated');
  return result(ev, r.grads, 'two-pass');
}

function result(ev: ObjectiveEvaluation, grads: ModelGrads, path: LossAndGrads['path']) {
  return { loss: ev.loss, metrics: ev.metrics, grads, path };
}

/**
 * Forward, statistics and backward of one batch. `coeffs` given: uploaded before anything is
 * read, and the statistics are read after the backward is traced (one program). A function:
 * the statistics are read first and it computes the coefficients from them.
 */
async function microBatch(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  batch: TrainBatch,
  targetIds: Int32Array,
  objective: ResolvedObjective,
  coeffs: Float64Array | ((stats: Float32Array | Int32Array) => Float64Array),
): Promise<{ grads: ModelGrads; hostStats: Float32Array | Int32Array }> {
  const { B, T } = batch;
  const N = B * T;
  const spec = objectiveStats(objective.objective, objective.params);
  const ids = backend.upload(batch.ids, [N]);
  const positions = backend.upload(batch.positions, [N]);
  const keyMask = backend.upload(batch.keyMask, [B, T]);
  const targets = backend.upload(targetIds, [N]);
  const uploadCoeffs = (c: Float64Array) =>
    backend.upload(Float32Array.from(c), [N, spec.stats.length]);

  const { hidden, saved } = modelForward(backend, config, w, { ids, positions, keyMask, B, T });
  const statValues = headForward(backend, config, w, hidden, targets, spec); // [N, S]
  let hostStats: Float32Array | Int32Array | undefined;
  let dLdStat: Tensor;
  if (typeof coeffs === 'function') {
    hostStats = await backend.read(statValues);
    dLdStat = uploadCoeffs(coeffs(hostStats));
  } else dLdStat = uploadCoeffs(coeffs);
  const { dHidden, dHeadWeight } = headBackward(
    backend,
    config,
    w,
    hidden,
    targets,
    statValues,
    dLdStat,
    spec,
  );
  const grads = modelBackward(backend, config, w, saved, dHidden, dHeadWeight);
  // Everything but the gradients and the statistics is released before the read, so the one
  // run of a tracing backend returns only those.
  for (const t of [dHidden, dLdStat, hidden, targets]) backend.dispose(t);
  disposeSaved(backend, saved);
  for (const t of [ids, positions, keyMask]) backend.dispose(t);
  if (!hostStats) hostStats = await backend.read(statValues);
  backend.dispose(statValues);
  return { grads, hostStats };
}
