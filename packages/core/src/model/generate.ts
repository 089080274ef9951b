/**
 * Batched generation over any backend: left-padded prompts, KV-cache decoding, the sampler
 * of sampling/sampler.ts with uniforms from the seeded RNG, per-sequence EOS.
 */
import type { SamplingParams, Tensor, TensorOps } from '../backend/tensor-ops.js';
import { RngStream, uniformAt } from '../sampling/rng.js';
import type { ModelConfig } from './config.js';
import { createKvCache, decodeStep, disposeKvCache, prefill } from './decode.js';
import { positionsFromMask } from './forward.js';
import type { ModelWeights } from './weights.js';

export interface GenerateOptions {
  /** token ids per sequence (each non-empty; they are left padded to the longest) */
  prompts: number[][];
  sampling: SamplingParams;
  /** G */
  maxNewTokens: number;
  seed: number;
  /** a sequence stops after sampling any of these */
  eosIds: readonly number[];
  /**
   * fills the left padding and every position after a sequence's EOS; like every prompt id,
   * it counts as present for the repetition penalty in rows that are padded
   */
  padId: number;
  /**
   * First RNG counter of this batch (stream RngStream.sampling): token t of sequence b uses
   * the uniform at counterBase + b·maxNewTokens + t. Default 0.
   */
  counterBase?: number;
}

export interface GenerateResult {
  /** [B, P + G'] left-padded prompt + generated tokens (pad after EOS); G' ≤ G steps ran */
  sequences: number[][];
  /** P: the padded prompt length */
  promptLength: number;
  /** per sequence, the generated tokens up to and including its EOS (no padding) */
  completions: number[][];
}

/** The uniforms of a batch, laid out [G, B] so that step t's row is one `sliceRows`. */
export function samplingUniforms(
  seed: number,
  counterBase: number,
  B: number,
  G: number,
): Float32Array {
  const u = new Float32Array(G * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < G; t++)
      u[t * B + b] = uniformAt(seed, RngStream.sampling, counterBase + b * G + t);
  }
  return u;
}

/** The host side of a generation batch, shared by `generate` and fused backend versions. */
export interface PromptBatch {
  B: number;
  /** P: the longest prompt; shorter ones are left padded with padId */
  P: number;
  /** Smax = P + G */
  Smax: number;
  /** [B, P] left-padded prompt ids */
  promptIds: Int32Array;
  /** [B, Smax]: 0 on the left padding, 1 elsewhere (every generated position is real) */
  mask: Int32Array;
  /** [B, P] positions of the prompt rows (`positionsFromMask`) */
  promptPositions: Int32Array;
  /**
   * [B, V] 1 for every id of the padded prompt row: Hugging Face's repetition penalty reads
   * every input id, the left padding included (a padded row penalises padId, often EOS).
   */
  presence: Int32Array;
  /** the prompt block but its last column, [B, P − 1] ids, positions and mask: what prefill caches */
  prefill: { ids: Int32Array; positions: Int32Array; mask: Int32Array };
  /** the last prompt column, [B] ids and positions: the first decode step's input */
  last: { ids: Int32Array; positions: Int32Array };
  /**
   * The result of each row's generated ids: sequences are the padded prompt row and all it
   * generated, completions stop after their first EOS.
   */
  result(generated: number[][]): GenerateResult;
}

/** The first `count` columns of a row-major [rows, width] block, as [rows, count]. */
function leadingColumns(data: Int32Array, rows: number, width: number, count: number) {
  const out = new Int32Array(rows * count);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * width, r * width + count), r * count);
  return out;
}

/** Validates the prompts and lays out the batch (see `PromptBatch`). */
export function preparePromptBatch(config: ModelConfig, opts: GenerateOptions): PromptBatch {
  const { prompts, padId, maxNewTokens: G } = opts;
  const B = prompts.length;
  const V = config.vocabSize;
  if (B === 0) throw new Error('generate: no prompts');
  if (!Number.isInteger(padId) || padId < 0 || padId >= V) {
    throw new Error(`generate: padId ${padId} is outside [0, ${V})`);
  }
  const P = Math.max(...prompts.map((p) => p.length));
  const Smax = P + G;
  if (Smax > config.maxPositionEmbeddings) {
    throw new Error(
      `generate: prompt length ${P} + ${G} new tokens exceeds the context of ${config.maxPositionEmbeddings}`,
    );
  }
  const promptIds = new Int32Array(B * P).fill(padId);
  const mask = new Int32Array(B * Smax).fill(1);
  const promptMask = new Int32Array(B * P);
  const presence = new Int32Array(B * V);
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new Error(`generate: prompt ${b} is empty`);
    const pad = P - p.length;
    p.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new Error(`generate: prompt ${b} token ${t} = ${id} is outside [0, ${V})`);
      }
      promptIds[b * P + pad + t] = id;
    });
    for (let t = 0; t < P; t++) {
      mask[b * Smax + t] = t < pad ? 0 : 1;
      promptMask[b * P + t] = t < pad ? 0 : 1;
      presence[b * V + promptIds[b * P + t]] = 1;
    }
  });
  const promptPositions = positionsFromMask(promptMask, B, P);
  const lastColumn = (data: Int32Array) =>
    Int32Array.from({ length: B }, (_, b) => data[b * P + P - 1]);
  return {
    B,
    P,
    Smax,
    promptIds,
    mask,
    promptPositions,
    presence,
    prefill: {
      ids: leadingColumns(promptIds, B, P, P - 1),
      positions: leadingColumns(promptPositions, B, P, P - 1),
      mask: leadingColumns(mask, B, Smax, P - 1),
    },
    last: { ids: lastColumn(promptIds), positions: lastColumn(promptPositions) },
    result: (generated) => ({
      sequences: generated.map((g, b) => [...promptIds.subarray(b * P, (b + 1) * P), ...g]),
      promptLength: P,
      completions: generated.map((g) => {
        const eos = g.findIndex((id) => opts.eosIds.includes(id));
        return eos < 0 ? g : g.slice(0, eos + 1);
      }),
    }),
  };
}

export async function generate(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const { padId, maxNewTokens: G } = opts;
  const V = config.vocabSize;
  const batch = preparePromptBatch(config, opts);
  const { B, P, Smax, mask, presence } = batch;

  const cache = createKvCache(ops, config, B, Smax);
  const presenceT = ops.upload(presence, [B, V]);
  const uniformsT = ops.upload(samplingUniforms(opts.seed, opts.counterBase ?? 0, B, G), [G, B]);
  const scratch: Tensor[] = [];
  const up = (data: Int32Array, shape: number[]) => {
    const t = ops.upload(data, shape);
    scratch.push(t);
    return t;
  };
  if (P > 1) {
    const n = P - 1;
    const { ids, positions, mask } = batch.prefill;
    prefill(ops, config, w, cache, up(ids, [B * n]), up(positions, [B * n]), up(mask, [B, n]));
  }
  let current = batch.last.ids;
  let positions = batch.last.positions;
  const generated: number[][] = opts.prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  for (let t = 0; t < G && !done.every(Boolean); t++) {
    const logits = decodeStep(
      ops,
      config,
      w,
      cache,
      up(current, [B]),
      up(positions, [B]),
      up(leadingColumns(mask, B, Smax, P + t), [B, P + t]),
    );
    const u = ops.sliceRows(uniformsT, t, 1); // [1, B]
    const next = ops.sample(logits, presenceT, u, opts.sampling); // [B]
    ops.markPresent(presenceT, next);
    const ids = (await ops.read(next)) as Int32Array;
    for (const x of [logits, u, next, ...scratch.splice(0)]) ops.dispose(x);
    current = Int32Array.from(ids, (id, b) => (done[b] ? padId : id));
    current.forEach((id, b) => {
      generated[b].push(id);
      if (!done[b] && opts.eosIds.includes(id)) done[b] = true;
    });
    positions = positions.map((p) => p + 1);
  }
  for (const x of [presenceT, uniformsT, ...scratch]) ops.dispose(x);
  disposeKvCache(ops, cache);
  return batch.result(generated);
}

/** Greedy continuation of one prompt: the generated ids (stopping after an EOS in eosIds). */
export async function greedyDecode(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  prompt: number[],
  maxNewTokens: number,
  eosIds: readonly number[] = [],
): Promise<number[]> {
  const sampling: SamplingParams = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 };
  const result = await generate(ops, config, w, {
    prompts: [prompt],
    sampling,
    maxNewTokens,
    seed: 0,
    eosIds,
    padId: 0,
  });
  return result.completions[0];
}
