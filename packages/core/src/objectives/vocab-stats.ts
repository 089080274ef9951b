/**
 * Per-token statistics of the logits over the vocabulary (docs/architecture.md#objectives): the whole interface
 * between an objective and a backend. A backend computes the requested statistics for every
 * token row (`TensorOps.vocabStats`) and, given dL/dstat per token, the gradient
 * dL/dz = Σ_s dL/dstat_s · dstat_s/dz (`TensorOps.vocabGrad`). This file holds the
 * definitions as a CPU reference for one row; reference/vocab.ts applies them to a
 * block of rows — the oracle for every backend's fused kernels.
 *
 * With a = z / T, m = max over the finite logits, p = softmax(a):
 *
 * | stat | value            | dstat/dz_j                |
 * | ---- | ---------------- | ------------------------- |
 * | lse  | log Σ exp(a_j)   | p_j / T                   |
 * | ez   | Σ p_j a_j        | (p_j / T)(1 + a_j − ez)   |
 * | zy   | a_y              | δ_jy / T                  |
 * | mz   | Σ' a_j / V'      | 1 / (V' T) (finite j)     |
 * | s2   | Σ p_j²           | (2 / T) p_j (p_j − s2)    |
 *
 * Entries equal to −Infinity (masked vocabulary) have p_j = 0 and zero gradient, and are
 * left out of ez's sum (0 · −∞ is taken as 0). `mz` is the mean over the V' finite entries
 * only (Σ' sums over them), so masking vocabulary entries never makes it −∞; without masked
 * entries V' = V and it is the plain mean. NaN and +Infinity logits are an error, as is a
 * row with no finite entry.
 *
 * Adding a statistic: extend `VocabStatName` (backend/tensor-ops.ts), add its definition to
 * `VOCAB_STATS` below with its value and derivative, and give the backends a kernel for it.
 */
import type { VocabStatName } from '../backend/tensor-ops.js';

/**
 * One row of logits prepared for the statistics: the max-subtracted softmax normaliser is
 * computed once (compensated summation), so p_j = exp((z_j − max) / T − logSum).
 */
export interface VocabRow {
  /** z, length V (entries may be −Infinity) */
  readonly z: ArrayLike<number>;
  /** V */
  readonly vocabSize: number;
  readonly temperature: number;
  /** max over the finite entries of z */
  readonly max: number;
  /** log Σ_j exp((z_j − max) / T) */
  readonly logSum: number;
  /** V': number of finite entries */
  readonly finiteCount: number;
}

export interface VocabStat {
  readonly name: VocabStatName;
  /** The formula, for docs and error messages. */
  readonly formula: string;
  /** The statistic of one row; `target` is the next-token id y (used by `zy`). */
  value(row: VocabRow, target: number): number;
  /**
   * Accumulates coeff · dstat/dz_j into dz[offset + j] for j < V, given this row's value of
   * the statistic (`value`, as the forward computed it).
   */
  grad(
    row: VocabRow,
    target: number,
    value: number,
    coeff: number,
    dz: Float64Array,
    offset: number,
  ): void;
}

/** p_j of a prepared row (0 for −Infinity entries). */
export function probability(row: VocabRow, j: number): number {
  return Math.exp((row.z[j] - row.max) / row.temperature - row.logSum);
}

/** Neumaier-compensated sum, so a 151,936-entry row loses no more than a few ulps. */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;
  add(x: number): void {
    const t = this.sum + x;
    if (Math.abs(this.sum) >= Math.abs(x)) this.compensation += this.sum - t + x;
    else this.compensation += x - t + this.sum;
    this.sum = t;
  }
  value(): number {
    return this.sum + this.compensation;
  }
}

const lse: VocabStat = {
  name: 'lse',
  formula: 'log Σ_j exp(z_j / T)',
  value: (row) => row.max / row.temperature + row.logSum,
  grad(row, _target, _value, coeff, dz, offset) {
    const c = coeff / row.temperature;
    for (let j = 0; j < row.vocabSize; j++) dz[offset + j] += c * probability(row, j);
  },
};

const ez: VocabStat = {
  name: 'ez',
  formula: 'Σ_j p_j z_j / T',
  value(row) {
    const acc = new CompensatedSum();
    for (let j = 0; j < row.vocabSize; j++) {
      const z = row.z[j];
      if (z !== Number.NEGATIVE_INFINITY) acc.add((probability(row, j) * z) / row.temperature);
    }
    return acc.value();
  },
  grad(row, _target, value, coeff, dz, offset) {
    const t = row.temperature;
    for (let j = 0; j < row.vocabSize; j++) {
      const z = row.z[j];
      if (z === Number.NEGATIVE_INFINITY) continue;
      dz[offset + j] += ((coeff * probability(row, j)) / t) * (1 + z / t - value);
    }
  },
};

const zy: VocabStat = {
  name: 'zy',
  formula: 'z_y / T',
  value: (row, target) => row.z[target] / row.temperature,
  grad(row, target, _value, coeff, dz, offset) {
    dz[offset + target] += coeff / row.temperature;
  },
};

const mz: VocabStat = {
  name: 'mz',
  formula: "Σ'_j z_j / (V' T) over the V' finite entries",
  value(row) {
    const acc = new CompensatedSum();
    for (let j = 0; j < row.vocabSize; j++) {
      const z = row.z[j];
      if (z !== Number.NEGATIVE_INFINITY) acc.add(z);
    }
    return acc.value() / (row.finiteCount * row.temperature);
  },
  grad(row, _target, _value, coeff, dz, offset) {
    const c = coeff / (row.finiteCount * row.temperature);
    for (let j = 0; j < row.vocabSize; j++) {
      if (row.z[j] !== Number.NEGATIVE_INFINITY) dz[offset + j] += c;
    }
  },
};

const s2: VocabStat = {
  name: 's2',
  formula: 'Σ_j p_j²',
  value(row) {
    const acc = new CompensatedSum();
    for (let j = 0; j < row.vocabSize; j++) {
      const p = probability(row, j);
      acc.add(p * p);
    }
    return acc.value();
  },
  grad(row, _target, value, coeff, dz, offset) {
    const c = (2 * coeff) / row.temperature;
    for (let j = 0; j < row.vocabSize; j++) {
      const p = probability(row, j);
      dz[offset + j] += c * p * (p - value);
    }
  },
};

/** The explicit list of statistics (no registration on import). */
export const VOCAB_STATS: Readonly<Record<VocabStatName, VocabStat>> = { lse, ez, zy, mz, s2 };

export const VOCAB_STAT_NAMES = Object.keys(VOCAB_STATS) as readonly VocabStatName[];

export function vocabStat(name: string): VocabStat {
  const stat = (VOCAB_STATS as Record<string, VocabStat | undefined>)[name];
  if (!stat) {
    throw new Error(
      `unknown vocabulary statistic '${name}'; expected one of ${VOCAB_STAT_NAMES.join(', ')}`,
    );
  }
  return stat;
}

/**
 * Prepares row `n` of a [N, V] block: validates it (finite or −Infinity, at least one finite
 * entry) and computes the max-subtracted log-normaliser.
 */
export function prepareVocabRow(
  logits: Float64Array | Float32Array,
  n: number,
  vocabSize: number,
  temperature: number,
): VocabRow {
  const z = logits.subarray(n * vocabSize, (n + 1) * vocabSize);
  let max = Number.NEGATIVE_INFINITY;
  let finiteCount = 0;
  for (let j = 0; j < vocabSize; j++) {
    const v = z[j];
    if (v === Number.NEGATIVE_INFINITY) continue;
    if (!Number.isFinite(v)) {
      throw new Error(`logits[${n}, ${j}] = ${v}; expected a finite value or -Infinity`);
    }
    finiteCount++;
    if (v > max) max = v;
  }
  if (finiteCount === 0) throw new Error(`logits row ${n} has no finite entry (all -Infinity)`);
  const acc = new CompensatedSum();
  for (let j = 0; j < vocabSize; j++) acc.add(Math.exp((z[j] - max) / temperature));
  return { z, vocabSize, temperature, max, logSum: Math.log(acc.value()), finiteCount };
}
