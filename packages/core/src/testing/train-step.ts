/**
 * The fixtures of the training-step tests every backend runs (a low-precision step vs f32, a
 * backend vs the reference): the paper's objective, two models and one fixed batch.
 */
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../backend/tensor-ops.js';
import type { ModelConfig } from '../model/config.js';
import { uploadWeights } from '../model/weights.js';
import { builtinObjective } from '../objectives/objective-spec.js';
import { parseObjectiveParams } from '../objectives/objective.js';
import type { ResolvedObjective } from '../objectives/resolve-objective.js';
import { buildBatch, type TrainBatch } from '../train/batch.js';
import { lossAndGrads } from '../train/loss-and-grads.js';
import { createOptimizerState, globalGradNorm, optimizerUpdate } from '../train/optimizer.js';
import { expectClose } from './conformance-compare.js';
import { testOptimizerConfig } from './optimizer.js';
import { randomWeights, stories260K, TINY_QWEN2, type TinyModel } from './conformance-models.js';

/** token-entropy with its defaults (T 0.5, the paper's mask), resolved as the CLI would. */
export function tokenEntropyObjective(): ResolvedObjective {
  const objective = builtinObjective('token-entropy');
  if (!objective) throw new Error('token-entropy is not a built-in objective');
  return { objective, params: parseObjectiveParams(objective, {}), origin: 'builtin' };
}

/** The tiny Qwen2 (biases, GQA, tied; seed 23) and the real stories260K. */
export function stepModels(): TinyModel[] {
  return [
    { name: 'tiny qwen2', config: TINY_QWEN2, weights: randomWeights(TINY_QWEN2, 23) },
    stories260K(),
  ];
}

/** Two left-padded prompts; the first completion ends in EOS, the second is cut off. */
export function stepBatch(config: ModelConfig): TrainBatch {
  const eos = config.eosTokenIds[0];
  return buildBatch(
    [
      [1, 14, 15, 16, 17],
      [1, 30],
    ],
    [
      [21, 22, 23, eos],
      [40, 41, 42, 43, 44, 45],
    ],
    config.padTokenId ?? eos,
  );
}

/** max |got − want| / max |want| over a tensor: the per-tensor error of a gradient. */
export function peakRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

export interface LowPrecisionStepChecks {
  /** unit roundoff of the compute copy: bf16 2⁻⁸, f16 2⁻¹¹ */
  u: number;
  /** right before and right after the two lossAndGrads (a backend's traffic checks) */
  beforeLossAndGrads?(): void;
  afterLossAndGrads?(): void;
  /** per parameter after each update, with its updated f32 master values (compute-copy checks) */
  afterUpdate?(name: string, param: Tensor, values: Float32Array | Int32Array): Promise<void>;
}

/**
 * An EM step with a low-precision compute copy of the weights vs the f32 step on the same
 * backend, on `stepBatch`: the only difference is the rounding of the weights the kernels read,
 * so the bounds are in units of u — loss and global norm 4u, per-tensor gradient error 32u,
 * and the weights after one SGD and one AdamW update from each side's own gradients: SGD moves
 * w by lr·g, so they differ by lr·|Δg| ≤ lr·32u·max|g|; AdamW's first step is lr·g/(|g| + eps)
 * ≈ ±lr, so an element may differ by 2·lr more (where a tiny gradient flips sign).
 */
export async function expectLowPrecisionStep(
  low: Backend,
  f32: Backend,
  model: TinyModel,
  checks: LowPrecisionStepChecks,
): Promise<void> {
  const { config } = model;
  const { u } = checks;
  const eos = config.eosTokenIds;
  const batch = stepBatch(config);
  const resolved = tokenEntropyObjective();
  const wl = uploadWeights(low, config, model.weights);
  const wf = uploadWeights(f32, config, model.weights);
  checks.beforeLossAndGrads?.();
  const got = await lossAndGrads(low, config, wl, batch, resolved, eos);
  const want = await lossAndGrads(f32, config, wf, batch, resolved, eos);
  checks.afterLossAndGrads?.();
  expectClose('loss', [got.loss], [want.loss], { abs: 0, rel: 4 * u });
  const worst: string[] = [];
  for (const [name, g] of want.grads) {
    const gl = got.grads.get(name);
    if (!gl) throw new Error(`no gradient for ${name}`);
    const rel = peakRelativeError(await low.read(gl), await f32.read(g));
    if (!(rel <= 32 * u)) worst.push(`${name}: ${rel / u} u`);
  }
  if (worst.length > 0) throw new Error(`gradients beyond 32u:\n${worst.join('\n')}`);
  const [nl, nf] = [await globalGradNorm(low, got.grads), await globalGradNorm(f32, want.grads)];
  expectClose('global gradient norm', [nl], [nf], { abs: 0, rel: 4 * u });
  for (const kind of ['sgd', 'adamw'] as const) {
    const lr = 1e-2;
    const cfg = testOptimizerConfig(kind, { lr });
    optimizerUpdate(low, wl, got.grads, createOptimizerState(low, config, kind), cfg, 1);
    optimizerUpdate(f32, wf, want.grads, createOptimizerState(f32, config, kind), cfg, 1);
    for (const [name, p] of wf) {
      const pl = wl.get(name);
      if (!pl) throw new Error(`no parameter ${name}`);
      const a = await low.read(pl);
      const b = await f32.read(p);
      const g = await f32.read(want.grads.get(name) ?? p);
      let gmax = 0;
      for (const x of g) gmax = Math.max(gmax, Math.abs(x));
      // the step-1 weights differ after SGD; after AdamW they include SGD's difference
      const bound = kind === 'sgd' ? lr * 32 * u * gmax : lr * 32 * u * gmax + 2 * lr;
      expectClose(`${kind} ${name}`, a, b, { abs: bound * 1.0001 + 1e-7, rel: 0 });
      await checks.afterUpdate?.(name, pl, a);
    }
  }
}
