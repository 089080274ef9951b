/**
 * Whole-model checks of the conformance suite: tiny random models built in memory (odd
 * sizes, GQA, biases, tied and untied heads) and the real stories260K, each run on a backend
 * and on the reference(f64), compared with the suite's tolerances.
 */
import type { Backend } from '../backend/backend.js';
import type { SamplingParams, Tensor, TensorOps, VocabStatName } from '../backend/tensor-ops.js';
import { llama2cToModel, toHalfRope } from '../io/llama2c.js';
import { loadStories260K } from '../io/llama2c-stories.js';
import { modelBackward } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { createKvCache, decodeStep, prefill } from '../model/decode.js';
import { modelForward, positionsFromMask } from '../model/forward.js';
import { type GenerateOptions, type GenerateResult, generate } from '../model/generate.js';
import { headBackward, headForward, modelLogits } from '../model/head.js';
import { paramSpecs, type WeightMap } from '../model/params.js';
import { uploadWeights } from '../model/weights.js';
import { normalAt, RngStream, uniformAt } from '../sampling/rng.js';
import { expectClose, expectEqualInts, get } from './conformance-compare.js';

export interface TinyModel {
  name: string;
  config: ModelConfig;
  weights: WeightMap;
}

const base: Pick<
  ModelConfig,
  | 'rmsNormEps'
  | 'maxPositionEmbeddings'
  | 'bosTokenId'
  | 'eosTokenIds'
  | 'padTokenId'
  | 'torchDtype'
> = {
  rmsNormEps: 1e-6,
  maxPositionEmbeddings: 64,
  bosTokenId: 1,
  eosTokenIds: [2],
  padTokenId: 0,
  torchDtype: 'float32',
};

/** Qwen2-shaped: q/k/v biases, GQA 4/2, tied embeddings, rope_theta 1e6. */
export const TINY_QWEN2: ModelConfig = {
  ...base,
  modelType: 'qwen2',
  hiddenSize: 22,
  intermediateSize: 37,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 6,
  ropeTheta: 1e6,
  ropeStyle: 'half',
  vocabSize: 53,
  tieWordEmbeddings: true,
  qkvBias: true,
  oBias: false,
};

/** Llama-shaped: attention biases (q/k/v and o), untied head, no GQA. */
export const TINY_LLAMA: ModelConfig = {
  ...base,
  modelType: 'llama',
  hiddenSize: 18,
  intermediateSize: 29,
  numLayers: 2,
  numHeads: 3,
  numKvHeads: 3,
  headDim: 6,
  ropeTheta: 10000,
  ropeStyle: 'half',
  vocabSize: 41,
  tieWordEmbeddings: false,
  qkvBias: true,
  oBias: true,
};

/**
 * Random weights from the seeded RNG (stream `init`): matrices ~ N(0, 1/in), norm weights
 * 1 + N(0, 0.1²), biases N(0, 0.1²); f32-representable.
 */
export function randomWeights(config: ModelConfig, seed: number): WeightMap {
  const weights: WeightMap = new Map();
  let counter = 0;
  for (const spec of paramSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const isNorm = spec.name.endsWith('norm.weight');
    const scale = spec.shape.length === 2 ? 1 / Math.sqrt(spec.shape[1]) : 0.1;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++)
      values[i] = (isNorm ? 1 : 0) + scale * normalAt(seed, RngStream.init, counter++);
    weights.set(spec.name, values);
  }
  return weights;
}

export function tinyModels(): TinyModel[] {
  return [
    {
      name: 'tiny qwen2 (biases, GQA, tied)',
      config: TINY_QWEN2,
      weights: randomWeights(TINY_QWEN2, 7),
    },
    {
      name: 'tiny llama (attention biases, untied)',
      config: TINY_LLAMA,
      weights: randomWeights(TINY_LLAMA, 8),
    },
  ];
}

/** stories260K converted to Hugging Face conventions (rotate-half RoPE). */
export function stories260K(): TinyModel {
  const { config, weights } = toHalfRope(llama2cToModel(loadStories260K()));
  return { name: 'stories260K', config, weights };
}

/** A left-padded batch: prompts of the given lengths (ids from the RNG, 3 ≤ id < V). */
export function leftPaddedBatch(config: ModelConfig, lengths: number[], seed: number) {
  const B = lengths.length;
  const T = Math.max(...lengths);
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  lengths.forEach((len, b) => {
    for (let t = T - len; t < T; t++) {
      mask[b * T + t] = 1;
      ids[b * T + t] =
        3 + Math.floor((config.vocabSize - 3) * uniformAt(seed, RngStream.data, b * T + t));
    }
  });
  return { B, T, ids, mask, positions: positionsFromMask(mask, B, T) };
}

function uploadBatch(ops: TensorOps, batch: ReturnType<typeof leftPaddedBatch>) {
  const N = batch.B * batch.T;
  return {
    ids: ops.upload(batch.ids, [N]),
    positions: ops.upload(batch.positions, [N]),
    keyMask: ops.upload(batch.mask, [batch.B, batch.T]),
    B: batch.B,
    T: batch.T,
  };
}

/** logits [N, V] of a left-padded batch. */
export async function batchLogits(
  ops: TensorOps,
  model: TinyModel,
  batch: ReturnType<typeof leftPaddedBatch>,
): Promise<ArrayLike<number>> {
  const w = uploadWeights(ops, model.config, model.weights);
  const { hidden } = modelForward(ops, model.config, w, uploadBatch(ops, batch));
  return get(ops, modelLogits(ops, model.config, w, hidden));
}

/**
 * Logits of a left-padded batch through the KV cache: positions [0, P) prefilled, then one
 * decode step per remaining position; returns each step's [B, V] logits, concatenated.
 */
export async function cachedDecodeLogits(
  ops: TensorOps,
  model: TinyModel,
  batch: ReturnType<typeof leftPaddedBatch>,
  P: number,
): Promise<number[]> {
  const { B, T } = batch;
  const w = uploadWeights(ops, model.config, model.weights);
  const cache = createKvCache(ops, model.config, B, T);
  const columns = (a: Int32Array, from: number, count: number) =>
    Int32Array.from(
      { length: B * count },
      (_, i) => a[Math.floor(i / count) * T + from + (i % count)],
    );
  prefill(
    ops,
    model.config,
    w,
    cache,
    ops.upload(columns(batch.ids, 0, P), [B * P]),
    ops.upload(columns(batch.positions, 0, P), [B * P]),
    ops.upload(columns(batch.mask, 0, P), [B, P]),
  );
  const out: number[] = [];
  for (let t = P; t < T; t++) {
    const logits = decodeStep(
      ops,
      model.config,
      w,
      cache,
      ops.upload(columns(batch.ids, t, 1), [B]),
      ops.upload(columns(batch.positions, t, 1), [B]),
      ops.upload(columns(batch.mask, 0, t + 1), [B, t + 1]),
    );
    out.push(...(await get(ops, logits)));
  }
  return out;
}

export const GRADIENT_STATS: readonly VocabStatName[] = ['lse', 'ez', 'zy'];
export const GRADIENT_TEMPERATURE = 0.5;

/**
 * The full parameter gradient of L = Σ coeffs ⊙ stats, stats = headForward(lse, ez, zy at
 * T 0.5), the coefficients random and zero on pad tokens; the targets are the next ids.
 * Returns the loss and the gradient per parameter.
 */
export async function headLossGradient(
  ops: TensorOps,
  model: TinyModel,
  batch: ReturnType<typeof leftPaddedBatch>,
  seed: number,
  chunkTokens = 5,
): Promise<{ loss: number; grads: Map<string, ArrayLike<number>> }> {
  const { config } = model;
  const N = batch.B * batch.T;
  const S = GRADIENT_STATS.length;
  const targets = Int32Array.from({ length: N }, (_, i) =>
    i % batch.T === batch.T - 1 ? 0 : batch.ids[i + 1],
  );
  const coeffs = new Float32Array(N * S);
  for (let i = 0; i < N * S; i++)
    coeffs[i] = batch.mask[Math.floor(i / S)] * normalAt(seed, RngStream.init, i);
  const w = uploadWeights(ops, config, model.weights);
  const { hidden, saved } = modelForward(ops, config, w, uploadBatch(ops, batch));
  const opts = { temperature: GRADIENT_TEMPERATURE, stats: GRADIENT_STATS, chunkTokens };
  const targetsT = ops.upload(targets, [N]);
  const stats = headForward(ops, config, w, hidden, targetsT, opts);
  const coeffsT = ops.upload(coeffs, [N, S]);
  const statValues = await get(ops, stats);
  let loss = 0;
  for (let i = 0; i < N * S; i++) if (coeffs[i] !== 0) loss += coeffs[i] * statValues[i];
  const { dHidden, dHeadWeight } = headBackward(
    ops,
    config,
    w,
    hidden,
    targetsT,
    stats,
    coeffsT,
    opts,
  );
  const gradTensors = modelBackward(ops, config, w, saved, dHidden, dHeadWeight);
  const grads = new Map<string, ArrayLike<number>>();
  for (const [name, t] of gradTensors) grads.set(name, await get(ops, t as Tensor));
  return { loss, grads };
}

/** Relative agreement of two gradients: per tensor max |Δ| / max |want|, and of the global L2 norms. */
export function expectGradientsClose(
  what: string,
  got: Map<string, ArrayLike<number>>,
  want: Map<string, ArrayLike<number>>,
  relTolerance: number,
): void {
  let gotNorm = 0;
  let wantNorm = 0;
  const failures: string[] = [];
  for (const [name, w] of want) {
    const g = got.get(name);
    if (!g) throw new Error(`${what}: no gradient for ${name}`);
    let scale = 0;
    for (let i = 0; i < w.length; i++) {
      scale = Math.max(scale, Math.abs(w[i]));
      wantNorm += w[i] * w[i];
      gotNorm += g[i] * g[i];
    }
    try {
      expectClose(`${name}`, g, w, { abs: relTolerance * scale, rel: 0 });
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  const normRel = Math.abs(Math.sqrt(gotNorm) - Math.sqrt(wantNorm)) / Math.sqrt(wantNorm);
  if (normRel > relTolerance)
    failures.push(`global norm ${Math.sqrt(gotNorm)} vs ${Math.sqrt(wantNorm)} (rel ${normRel})`);
  if (failures.length > 0) throw new Error(`${what}: gradients differ:\n${failures.join('\n')}`);
}

export interface DecodeCase {
  prompts: number[][];
  sampling: SamplingParams;
  maxNewTokens: number;
  seed: number;
  /** default none: every sequence runs maxNewTokens */
  eosIds?: number[];
  /** default 0 */
  padId?: number;
}

/** A backend's own fused generation (e.g. ORT's decode Loop), when it offers one. */
type FusedGenerate = (
  config: ModelConfig,
  w: ReturnType<typeof uploadWeights>,
  opts: GenerateOptions,
) => Promise<GenerateResult>;

export async function decodeSequences(
  ops: TensorOps,
  model: TinyModel,
  c: DecodeCase,
  fused?: FusedGenerate,
): Promise<number[][]> {
  const w = uploadWeights(ops, model.config, model.weights);
  const opts: GenerateOptions = {
    ...c,
    eosIds: c.eosIds ?? [],
    padId: c.padId ?? 0,
    counterBase: 0,
  };
  const result = fused
    ? await fused(model.config, w, opts)
    : await generate(ops, model.config, w, opts);
  // the padded prompt, then each completion (up to and including its EOS): what any
  // implementation must agree on, however many padding steps it runs after the last EOS
  return result.completions.map((c, b) => [
    ...result.sequences[b].slice(0, result.promptLength),
    ...c,
  ]);
}

/**
 * The backend's draws equal the reference's: core's generic `generate` over the backend's
 * primitives, and the backend's own fused `generate` too when it has one.
 */
export async function expectSameDecode(
  what: string,
  backend: Backend,
  reference: TensorOps,
  model: TinyModel,
  c: DecodeCase,
  /** the weights the reference decodes with (default: the model's own) */
  referenceModel: TinyModel = model,
): Promise<void> {
  const want = await decodeSequences(reference, referenceModel, c);
  const paths: Array<[string, FusedGenerate | undefined]> = [['generic generate', undefined]];
  const fused = (backend as { generate?: FusedGenerate }).generate;
  if (fused) paths.push(['fused backend.generate', fused.bind(backend)]);
  for (const [path, f] of paths) {
    const got = await decodeSequences(backend, model, c, f);
    for (const [b, seq] of want.entries()) {
      expectEqualInts(`${what} (${path}), sequence ${b}`, got[b] ?? [], seq);
    }
  }
}
