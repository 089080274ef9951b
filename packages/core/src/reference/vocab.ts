/**
 * The CPU reference for `TensorOps.vocabStats` / `TensorOps.vocabGrad` over a [N, V] block of
 * logits, in f64 with max subtraction and compensated sums. One row is processed at a time
 * and no softmax row is ever stored: p_j is recomputed from the row's normaliser where used.
 * Definitions and the −Infinity convention: vocab-stats.ts.
 */
import type { VocabStatName } from '../backend/tensor-ops.js';
import { prepareVocabRow, type VocabStat, vocabStat } from '../objectives/vocab-stats.js';

export interface VocabStatsOptions {
  temperature: number;
  /** Column order of the [N, S] statistics and coefficients. */
  stats: readonly VocabStatName[];
}

/** The statistics of `opts`, once the logits block, temperature and targets are checked. */
function checkedStats(
  logits: ArrayLike<number>,
  opts: VocabStatsOptions,
  targets: ArrayLike<number>,
  n: number,
  vocabSize: number,
): VocabStat[] {
  if (logits.length !== n * vocabSize) {
    throw new Error(`logits has ${logits.length} entries; expected N·V = ${n}·${vocabSize}`);
  }
  if (!(opts.temperature > 0) || !Number.isFinite(opts.temperature)) {
    throw new Error(`temperature = ${opts.temperature}; expected a finite number > 0`);
  }
  const stats = opts.stats.map(vocabStat);
  if (stats.some((s) => s.name === 'zy')) {
    if (targets.length < n)
      throw new Error(`targets has ${targets.length} entries; expected N = ${n}`);
    for (let i = 0; i < n; i++) {
      const y = targets[i];
      if (!Number.isInteger(y) || y < 0 || y >= vocabSize) {
        throw new Error(`targets[${i}] = ${y}; expected an integer token id in [0, ${vocabSize})`);
      }
    }
  }
  return stats;
}

/**
 * logits [N, V], targets [N] (next-token ids; read only for `zy`) → statistics [N, S],
 * columns in `opts.stats` order.
 */
export function vocabStatsReference(
  logits: Float64Array | Float32Array,
  targets: ArrayLike<number>,
  n: number,
  vocabSize: number,
  opts: VocabStatsOptions,
): Float64Array {
  const stats = checkedStats(logits, opts, targets, n, vocabSize);
  const s = stats.length;
  const out = new Float64Array(n * s);
  for (let i = 0; i < n; i++) {
    const row = prepareVocabRow(logits, i, vocabSize, opts.temperature);
    for (let k = 0; k < s; k++) out[i * s + k] = stats[k].value(row, targets[i]);
  }
  return out;
}

/**
 * dL/dz [N, V] = Σ_s coeffs[n, s] · dstat_s/dz, given the statistics from `vocabStatsReference`
 * (statValues [N, S]) and the per-token coefficients dL/dstat (coeffs [N, S]), both in
 * `opts.stats` column order. Rows whose coefficients are all zero get a zero gradient without
 * being read.
 */
export function vocabGradReference(
  logits: Float64Array | Float32Array,
  targets: ArrayLike<number>,
  statValues: ArrayLike<number>,
  coeffs: ArrayLike<number>,
  n: number,
  vocabSize: number,
  opts: VocabStatsOptions,
): Float64Array {
  const stats = checkedStats(logits, opts, targets, n, vocabSize);
  const s = stats.length;
  if (statValues.length !== n * s || coeffs.length !== n * s) {
    throw new Error(
      `statValues has ${statValues.length} and coeffs ${coeffs.length} entries; expected N·S = ${n}·${s}`,
    );
  }
  const dz = new Float64Array(n * vocabSize);
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let k = 0; k < s; k++) {
      const c = coeffs[i * s + k];
      if (!Number.isFinite(c))
        throw new Error(`coeffs[${i}, ${k}] = ${c}; expected a finite number`);
      if (c !== 0) any = true;
    }
    if (!any) continue;
    const row = prepareVocabRow(logits, i, vocabSize, opts.temperature);
    for (let k = 0; k < s; k++) {
      const c = coeffs[i * s + k];
      if (c !== 0) stats[k].grad(row, targets[i], statValues[i * s + k], c, dz, i * vocabSize);
    }
  }
  return dz;
}
