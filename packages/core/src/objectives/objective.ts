/**
 * The objective contract (docs/architecture.md#objectives). An objective names the per-token vocabulary statistics
 * it needs (at a temperature it chooses) and writes its loss as a forward over those
 * per-token arrays with the ops of autodiff.ts. `evaluateObjective` runs that forward on the
 * statistics a backend computed and returns the loss and dL/dstat per token, which the
 * backend's `vocabGrad` turns into dL/dz.
 *
 * A plugin package's default export is `defineObjective({ ... })`.
 */
import { z } from 'zod';
import { warnDeprecated } from '../deprecation.js';
import type { VocabStatName } from '../backend/tensor-ops.js';
import { gradients, type Mask, type Ops, ops, Var } from './autodiff.js';
import {
  type CompletionMaskConvention,
  completionLengths,
  completionMask,
  type DeprecatedMaskConvention,
  keyMask,
  type ObjectiveBatch,
  sequenceIds,
  teacherForcingMask,
} from './objective-batch.js';
import { vocabStat } from './vocab-stats.js';

/** Which statistics the backend computes for this objective, and at what temperature. */
export interface ObjectiveStats {
  temperature: number;
  /** Column order of statValues and coeffs [N, S]. */
  stats: readonly VocabStatName[];
}

/** Everything a loss can read. Per-token arrays have N = B·T entries (row b·T + t). */
export interface ObjectiveContext {
  readonly batch: ObjectiveBatch;
  /** [N] the statistic at every position (declared in `stats`). */
  stat(name: VocabStatName): Var;
  /** [N] 0/1: see objective-batch.ts for the two conventions ('reference' is the old 'paper'). */
  completionMask(convention: CompletionMaskConvention | DeprecatedMaskConvention): Mask;
  /** [N] 0/1: positions whose own and next tokens are real (prompt included). */
  teacherForcingMask(): Mask;
  /** [N] 0/1: ids ≠ pad (the model's key mask, per token). */
  readonly keyMask: Mask;
  /** @deprecated the 0.1 name of `keyMask`, accepted until 0.2. */
  readonly attentionMask: Mask;
  /** [N] sequence index b of every token. */
  readonly seqIds: Int32Array;
  /** B */
  readonly numSequences: number;
  /** [B] completion tokens (non-pad, t ≥ P) per sequence. */
  readonly completionLengths: Float64Array;
  /** V */
  readonly vocabSize: number;
  readonly ops: Ops;
}

/** A loss alone, or with scalar metrics to log (e.g. the mean entropy). */
export type ObjectiveLoss = Var | { loss: Var; metrics?: Record<string, Var | number> };

export interface Objective<P extends object = Record<string, unknown>> {
  /** kebab-case; the registry and CLI name */
  readonly name: string;
  readonly description: string;
  /** zod schema of the parameters; every field documents its range and default with `.describe`. */
  readonly params: z.ZodType<P>;
  stats(params: P): ObjectiveStats;
  loss(ctx: ObjectiveContext, params: P): ObjectiveLoss;
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export function defineObjective<S extends z.ZodType<object>>(definition: {
  name: string;
  description: string;
  params: S;
  stats(params: z.output<S>): ObjectiveStats;
  loss(ctx: ObjectiveContext, params: z.output<S>): ObjectiveLoss;
}): Objective<z.output<S>> {
  if (!NAME.test(definition.name)) {
    throw new Error(
      `objective name '${definition.name}'; expected kebab-case (e.g. 'token-entropy')`,
    );
  }
  if (typeof definition.params?.safeParse !== 'function') {
    throw new Error(`objective '${definition.name}': params must be a zod schema`);
  }
  // S's output is its z.output; TypeScript cannot see S as z.ZodType<z.output<S>> by itself.
  const params = definition.params as unknown as z.ZodType<z.output<S>>;
  return Object.freeze({ ...definition, params });
}

/** True when `x` has the shape of an Objective (for values loaded from plugins). */
export function isObjective(x: unknown): x is Objective {
  const o = x as Partial<Objective> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.name === 'string' &&
    typeof o.stats === 'function' &&
    typeof o.loss === 'function' &&
    typeof o.params?.safeParse === 'function'
  );
}

/** The documented description (range, default) of each top-level parameter, when the schema is an object. */
export function parameterDocs(objective: Objective): Record<string, string> {
  const shape = (objective.params as { shape?: Record<string, { description?: string }> }).shape;
  const docs: Record<string, string> = {};
  for (const [key, field] of Object.entries(shape ?? {})) docs[key] = field.description ?? '';
  return docs;
}

/**
 * `name:k=v` gives strings: convert those whose schema field is a number or boolean, so a plugin
 * author may write `z.number()` rather than `z.coerce.number()`.
 */
function coerceSpecStrings(objective: Objective, raw: object): object {
  const shape = (objective.params as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(out)) {
    let field: z.ZodType | undefined = shape[key];
    while (field instanceof z.ZodDefault || field instanceof z.ZodOptional) {
      field = field.unwrap() as z.ZodType;
    }
    if (typeof value !== 'string') continue;
    if (field instanceof z.ZodNumber && value.trim() !== '' && Number.isFinite(Number(value))) {
      out[key] = Number(value);
    } else if (field instanceof z.ZodBoolean && (value === 'true' || value === 'false')) {
      out[key] = value === 'true';
    }
  }
  return out;
}

/**
 * Validates raw parameters (strings from `name:k=v` are coerced by the schema) and applies
 * defaults. Errors name the objective, the parameter, the zod issue and the documented range;
 * an unknown key lists the known ones.
 */
export function parseObjectiveParams<P extends object>(
  objective: Objective<P>,
  raw: object = {},
): P {
  const docs = parameterDocs(objective as unknown as Objective);
  const known = Object.keys(docs);
  if (known.length > 0) {
    for (const key of Object.keys(raw)) {
      if (!known.includes(key)) {
        const list = known.map((k) => `  ${k}: ${docs[k]}`).join('\n');
        throw new Error(
          `objective '${objective.name}': unknown parameter '${key}'; its parameters are:\n${list}`,
        );
      }
    }
  }
  const parsed = objective.params.safeParse(
    coerceSpecStrings(objective as unknown as Objective, raw),
  );
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = issue.path.join('.');
    const given =
      key in raw ? ` (given ${JSON.stringify((raw as Record<string, unknown>)[key])})` : '';
    const doc = docs[String(issue.path[0])];
    return `parameter '${key}'${given}: ${issue.message}${doc ? `; ${key}: ${doc}` : ''}`;
  });
  throw new Error(`objective '${objective.name}': ${lines.join('\n')}`);
}

export interface ObjectiveEvaluation {
  loss: number;
  /** [N, S] dL/dstat, columns in the objective's `stats` order */
  coeffs: Float64Array;
  metrics: Record<string, number>;
}

/** The statistics an objective needs at these (raw or parsed) parameters. */
export function objectiveStats<P extends object>(
  objective: Objective<P>,
  params: object = {},
): ObjectiveStats {
  const spec = objective.stats(parseObjectiveParams(objective, params));
  spec.stats.forEach(vocabStat);
  if (new Set(spec.stats).size !== spec.stats.length) {
    throw new Error(
      `objective '${objective.name}': stats lists a statistic twice (${spec.stats.join(', ')})`,
    );
  }
  return spec;
}

/**
 * Runs the objective's forward on statValues [N, S] (N = B·T, columns in its `stats` order)
 * and differentiates it: loss, coeffs = dL/dstat [N, S], metrics.
 */
export function evaluateObjective<P extends object>(
  objective: Objective<P>,
  params: object,
  statValues: ArrayLike<number>,
  batch: ObjectiveBatch,
): ObjectiveEvaluation {
  const parsed = parseObjectiveParams(objective, params);
  const { stats } = objectiveStats(objective, parsed);
  const n = batch.B * batch.T;
  const s = stats.length;
  if (statValues.length !== n * s) {
    throw new Error(
      `objective '${objective.name}': statValues has ${statValues.length} entries; expected N·S = ${n}·${s} (${stats.join(', ')})`,
    );
  }
  const columns = stats.map((_, k) => {
    const column = new Float64Array(n);
    for (let i = 0; i < n; i++) column[i] = statValues[i * s + k];
    return new Var(column);
  });
  const tokenKeyMask = keyMask(batch);
  const ctx: ObjectiveContext = {
    batch,
    stat(name) {
      const k = stats.indexOf(name);
      if (k < 0) {
        throw new Error(
          `objective '${objective.name}': loss reads '${name}' but stats declares only ${stats.join(', ')}`,
        );
      }
      return columns[k];
    },
    completionMask: (convention) => completionMask(batch, convention),
    teacherForcingMask: () => teacherForcingMask(batch),
    keyMask: tokenKeyMask,
    get attentionMask() {
      warnDeprecated('ctx.attentionMask', 'ctx.keyMask', 'one name for the key mask');
      return tokenKeyMask;
    },
    seqIds: sequenceIds(batch),
    numSequences: batch.B,
    completionLengths: completionLengths(batch),
    vocabSize: batch.V,
    ops,
  };
  const result = objective.loss(ctx, parsed);
  const { loss, metrics = {} } = result instanceof Var ? { loss: result } : result;
  if (!(loss instanceof Var) || !loss.isScalar) {
    throw new Error(`objective '${objective.name}': loss must return a scalar Var`);
  }
  const grads = gradients(loss, columns);
  const coeffs = new Float64Array(n * s);
  grads.forEach((g, k) => {
    for (let i = 0; i < n; i++) coeffs[i * s + k] = typeof g === 'number' ? g : g[i];
  });
  const metricValues: Record<string, number> = {};
  for (const [key, m] of Object.entries(metrics))
    metricValues[key] = m instanceof Var ? m.scalar() : m;
  return { loss: loss.scalar(), coeffs, metrics: metricValues };
}

/** Deterministic statistics in (0.05, 1) for a probe (positive: logs and roots stay finite). */
function probeStats(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = 0.05 + 0.95 * (x / 2 ** 32);
  }
  return out;
}

function tryCoeffs(
  objective: Objective,
  params: object,
  stats: Float64Array,
  batch: ObjectiveBatch,
): Float64Array | null {
  try {
    return evaluateObjective(objective, params, stats, batch).coeffs;
  } catch {
    return null;
  }
}

/** True when a and b hold the same numbers (NaN never matches). */
export function sameCoefficients(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * dL/dstat [N, S] before the statistics exist, or null when they depend on the statistic
 * values. An objective linear in its statistics (token-entropy, self-certainty, nll,
 * sequence-nll) has coefficients fixed by the batch's masks alone, so a backend can run
 * forward, statistics and backward as one program; one that selects or bends them
 * (high-entropy-tokens' top-q, Rényi's log) needs the statistics first.
 *
 * Derived, not declared, so a plugin gets it for free: the objective is evaluated at two
 * different probe arrays and must give identical coefficients. A nonlinearity the probes
 * miss (a kink neither crosses) is caught by the caller, which compares against the
 * coefficients of the real statistics with `sameCoefficients` and recomputes the two-run
 * way: it costs time, never a wrong gradient.
 */
export function coefficientsBeforeStats<P extends object>(
  objective: Objective<P>,
  params: object,
  batch: ObjectiveBatch,
): Float64Array | null {
  const obj = objective as unknown as Objective;
  const n = batch.B * batch.T * objectiveStats(objective, params).stats.length;
  const a = tryCoeffs(obj, params, probeStats(n, 1), batch);
  const b = a && tryCoeffs(obj, params, probeStats(n, 2), batch);
  const linear = a !== null && b !== null && sameCoefficients(a, b);
  return linear ? a : null;
}
