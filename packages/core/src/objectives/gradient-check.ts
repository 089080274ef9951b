/**
 * The finite-difference conformance check for objectives: dL/dz along the contract path
 * (vocabStatsReference → evaluateObjective → coeffs → vocabGradReference) against central
 * finite differences of the full loss with respect to the logits, in f64. Exported from
 * `@oneshot-em/core/testing`, so a plugin's gradient test is one call.
 *
 * The difference quotient is the fourth-order central stencil
 * (8(f(z+h) − f(z−h)) − (f(z+2h) − f(z−2h))) / 12h with h a power of two (z ± h is exact in
 * f64 even at |z| = 1e4), which keeps truncation error far below the 1e-6 tolerance while h
 * stays large enough for rounding. Perturbing z[n, j] changes only row n's statistics, so the
 * loss is re-evaluated from the other rows' cached statistics plus that row's fresh ones.
 */
import { normalAt, RngStream, uniformAt } from '../sampling/rng.js';
import { evaluateObjective, type Objective, objectiveStats } from './objective.js';
import { createObjectiveBatch, type ObjectiveBatch } from './objective-batch.js';
import { vocabGradReference, vocabStatsReference } from '../reference/vocab.js';

export interface GradientCheckOptions {
  /** V (default 24) */
  vocab?: number;
  /** B sequences (default 2) */
  sequences?: number;
  /** T positions per sequence, prompt included (default 8) */
  tokens?: number;
  /** P, the padded prompt width (default ⌊T/2⌋) */
  promptLength?: number;
  seed?: number;
  /** standard deviation of the random logits (default 2) */
  logitScale?: number;
  /**
   * Extreme logits: per row a few entries at +1e4 + noise, the rest at −1e4 + noise (noise of
   * standard deviation logitScale), so softmax is far outside exp's range without max subtraction.
   */
  extreme?: boolean;
  /** entries per row set to −Infinity (masked vocabulary; never the row's target). Default 0. */
  maskedVocab?: number;
  /** The tokenizer has no pad token and EOS doubles as pad (default false). */
  padIsEos?: boolean;
  /** Logits to use instead of random ones, [B·T, V]. */
  logits?: Float64Array;
  /** Coordinates checked per row: default all when V ≤ 64, else 8 (target, top 3, random). */
  coordinatesPerRow?: number;
  /** Maximum relative error (default 1e-6). */
  tolerance?: number;
  /** Finite-difference step (default 2^-10). */
  step?: number;
  /** Throw when the error exceeds the tolerance (default true). */
  assert?: boolean;
}

export interface GradientCheckResult {
  /** max |fd − analytic| / max(|analytic|, |fd|) over the checked coordinates */
  maxRelativeError: number;
  maxAbsoluteError: number;
  checked: number;
  loss: number;
  metrics: Record<string, number>;
  batch: ObjectiveBatch;
}

const PAD = 0;
const EOS = 1;

/**
 * A random left-padded batch: prompts of random real length ≤ P, completions of random
 * length ending with EOS when there is room, right-padded. Ids 0 (pad) and 1 (EOS) are
 * special; the rest are drawn from [2, V).
 */
export function randomObjectiveBatch(opts: {
  B: number;
  T: number;
  V: number;
  promptLength: number;
  seed: number;
  padIsEos?: boolean;
}): ObjectiveBatch {
  const { B, T, V, promptLength: P, seed } = opts;
  if (V < 3) throw new Error(`randomObjectiveBatch: V = ${V}; expected ≥ 3`);
  const padId = opts.padIsEos ? EOS : PAD;
  const ids = new Int32Array(B * T).fill(padId);
  let counter = 0;
  const draw = (n: number) => Math.floor(uniformAt(seed, RngStream.data, counter++) * n);
  for (let b = 0; b < B; b++) {
    const promptReal = 1 + draw(P);
    for (let t = P - promptReal; t < P; t++) ids[b * T + t] = 2 + draw(V - 2);
    // Sequence 0 always fills to the end (no EOS); the others stop early with EOS + pad.
    const room = T - P;
    const completion = b === 0 ? room : draw(room + 1);
    for (let t = P; t < P + completion; t++) ids[b * T + t] = 2 + draw(V - 2);
    if (b > 0 && completion < room) ids[b * T + P + completion] = EOS;
  }
  return createObjectiveBatch({ B, T, V, ids, promptLength: P, padId, eosIds: [EOS] });
}

function randomLogits(
  batch: ObjectiveBatch,
  opts: GradientCheckOptions,
  seed: number,
): Float64Array {
  const { B, T, V } = batch;
  const scale = opts.logitScale ?? 2;
  const logits = new Float64Array(B * T * V);
  for (let i = 0; i < logits.length; i++) logits[i] = scale * normalAt(seed, RngStream.init, i);
  let counter = 0;
  const draw = (n: number) => Math.floor(uniformAt(seed + 1, RngStream.init, counter++) * n);
  for (let n = 0; n < B * T; n++) {
    const row = logits.subarray(n * V, (n + 1) * V);
    if (opts.extreme) {
      const high = new Set([batch.targets[n], draw(V), draw(V)]);
      for (let j = 0; j < V; j++) row[j] += high.has(j) ? 1e4 : -1e4;
    }
    for (let k = 0; k < (opts.maskedVocab ?? 0); k++) {
      const j = draw(V);
      if (j !== batch.targets[n]) row[j] = Number.NEGATIVE_INFINITY;
    }
  }
  return logits;
}

function coordinatesOf(
  row: Float64Array,
  target: number,
  count: number,
  seed: number,
  n: number,
): number[] {
  const finite = [...row.keys()].filter((j) => row[j] !== Number.NEGATIVE_INFINITY);
  if (count >= finite.length) return finite;
  const chosen = new Set<number>([target]);
  for (const j of [...finite].sort((a, b) => row[b] - row[a]).slice(0, 3)) chosen.add(j);
  for (let k = 0; chosen.size < count; k++) {
    chosen.add(
      finite[Math.floor(uniformAt(seed, RngStream.data, 1e6 + n * 1e4 + k) * finite.length)],
    );
  }
  return [...chosen];
}

export function checkObjectiveGradient<P extends object>(
  objective: Objective<P>,
  params: object = {},
  options: GradientCheckOptions = {},
): GradientCheckResult {
  const V = options.vocab ?? 24;
  const T = options.tokens ?? 8;
  const seed = options.seed ?? 1;
  const batch = randomObjectiveBatch({
    B: options.sequences ?? 2,
    T,
    V,
    promptLength: options.promptLength ?? Math.floor(T / 2),
    seed,
    padIsEos: options.padIsEos,
  });
  const N = batch.B * batch.T;
  const logits = options.logits ?? randomLogits(batch, options, seed);
  if (logits.length !== N * V)
    throw new Error(`logits has ${logits.length} entries; expected B·T·V = ${N}·${V}`);
  const spec = objectiveStats(objective, params);
  const S = spec.stats.length;
  const statValues = vocabStatsReference(logits, batch.targets, N, V, spec);
  const evaluation = evaluateObjective(objective, params, statValues, batch);
  const dz = vocabGradReference(logits, batch.targets, statValues, evaluation.coeffs, N, V, spec);

  const lossWithRow = (n: number, j: number, x: number): number => {
    const row = logits.slice(n * V, (n + 1) * V);
    row[j] = x;
    const fresh = vocabStatsReference(row, [batch.targets[n]], 1, V, spec);
    const values = statValues.slice();
    values.set(fresh, n * S);
    return evaluateObjective(objective, params, values, batch).loss;
  };
  const h = options.step ?? 2 ** -10;
  const perRow = options.coordinatesPerRow ?? (V <= 64 ? V : 8);
  const mismatches: { n: number; j: number; analytic: number; fd: number }[] = [];
  let maxAbs = 0;
  let scale = 0;
  let checked = 0;
  for (let n = 0; n < N; n++) {
    const row = logits.subarray(n * V, (n + 1) * V);
    for (let j = 0; j < V; j++) {
      const g = dz[n * V + j];
      if (!Number.isFinite(g) || (row[j] === Number.NEGATIVE_INFINITY && g !== 0)) {
        throw new Error(
          `${objective.name}: dL/dz[${n}, ${j}] = ${g} at logit ${row[j]}; expected finite (0 at -Infinity)`,
        );
      }
    }
    // With a large vocabulary only rows that carry a gradient are worth V-wide re-evaluations.
    const hasCoeff = evaluation.coeffs.subarray(n * S, (n + 1) * S).some((c) => c !== 0);
    if (V > 64 && !hasCoeff) continue;
    for (const j of coordinatesOf(row, batch.targets[n], perRow, seed, n)) {
      const z = row[j];
      const fd =
        (8 * (lossWithRow(n, j, z + h) - lossWithRow(n, j, z - h)) -
          (lossWithRow(n, j, z + 2 * h) - lossWithRow(n, j, z - 2 * h))) /
        (12 * h);
      const analytic = dz[n * V + j];
      const diff = Math.abs(fd - analytic);
      maxAbs = Math.max(maxAbs, diff);
      scale = Math.max(scale, Math.abs(fd), Math.abs(analytic));
      mismatches.push({ n, j, analytic, fd });
      checked++;
    }
  }
  const maxRelativeError =
    scale === 0 ? (maxAbs === 0 ? 0 : Number.POSITIVE_INFINITY) : maxAbs / scale;
  const tolerance = options.tolerance ?? 1e-6;
  if ((options.assert ?? true) && !(maxRelativeError <= tolerance)) {
    const worst = mismatches
      .filter((m) => Math.abs(m.fd - m.analytic) > tolerance * scale)
      .slice(0, 5)
      .map((m) => `  dz[${m.n}, ${m.j}]: contract ${m.analytic}, finite differences ${m.fd}`)
      .join('\n');
    throw new Error(
      `${objective.name}: dL/dz relative error ${maxRelativeError.toExponential(3)} > ${tolerance.toExponential()} ` +
        `(max abs ${maxAbs.toExponential(3)}, gradient scale ${scale.toExponential(3)}, ${checked} coordinates); first mismatches:\n${worst}`,
    );
  }
  return {
    maxRelativeError,
    maxAbsoluteError: maxAbs,
    checked,
    loss: evaluation.loss,
    metrics: evaluation.metrics,
    batch,
  };
}

/**
 * The acceptance scenarios of every objective (issue 3): random logits with padding and EOS
 * (and EOS as pad), a 151,936-entry vocabulary with a few tokens, and extreme logits (±1e4)
 * with −Infinity for masked vocabulary entries.
 */
export const GRADIENT_CHECK_SCENARIOS: readonly { name: string; options: GradientCheckOptions }[] =
  [
    {
      name: 'random logits, padding and EOS',
      options: { vocab: 24, sequences: 3, tokens: 8, seed: 1 },
    },
    {
      name: 'random logits, EOS as pad',
      options: { vocab: 16, sequences: 3, tokens: 7, seed: 2, padIsEos: true },
    },
    {
      name: 'vocabulary of 151,936 entries, a few tokens',
      options: { vocab: 151_936, sequences: 1, tokens: 4, promptLength: 2, seed: 3, logitScale: 3 },
    },
    {
      name: 'extreme logits (±1e4) and -Infinity entries',
      options: { vocab: 40, sequences: 2, tokens: 6, seed: 4, extreme: true, maskedVocab: 6 },
    },
  ];
