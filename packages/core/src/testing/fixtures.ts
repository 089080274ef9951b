import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultModelDir, type HfModel, saveHfModel } from '../io/hf-model.js';
import type { ModelConfig } from '../model/config.js';
import { FINAL_NORM, numel, paramSpecs, type WeightMap } from '../model/params.js';
import { normalAt, RngStream } from '../sampling/rng.js';

/**
 * Deterministic tiny random models for tests: a Qwen2 (q/k/v biases, GQA, tied embeddings,
 * rope_theta 1e6) and a Llama (untied head), each a complete HF directory sharing the
 * embedded stories260K tokenizer (vocab 512). The same seed always gives the same bytes.
 */

export type TinyModelKind = 'qwen2' | 'llama';

/** A small ChatML template so chat-prompt code paths run on the qwen2 fixture. */
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function tinyModelConfig(kind: TinyModelKind): ModelConfig {
  const shared = {
    hiddenSize: 32,
    intermediateSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-6,
    ropeStyle: 'half' as const,
    maxPositionEmbeddings: 256,
    vocabSize: 512,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    torchDtype: 'float32' as const,
  };
  return kind === 'qwen2'
    ? {
        ...shared,
        modelType: 'qwen2',
        ropeTheta: 1e6,
        tieWordEmbeddings: true,
        qkvBias: true,
        oBias: false,
      }
    : {
        ...shared,
        modelType: 'llama',
        ropeTheta: 10000,
        tieWordEmbeddings: false,
        qkvBias: false,
        oBias: false,
      };
}

/**
 * Standard deviation per parameter: norm gains scatter around 1, biases and projections ~0.1,
 * embeddings and head 0.2 — so logits have a spread of about 1 (neither flat nor one-hot).
 */
function initFor(name: string): { mean: number; std: number } {
  if (name.endsWith('layernorm.weight') || name === FINAL_NORM) return { mean: 1, std: 0.1 };
  if (name.endsWith('.bias')) return { mean: 0, std: 0.1 };
  if (name.includes('embed_tokens') || name.startsWith('lm_head')) return { mean: 0, std: 0.2 };
  return { mean: 0, std: 0.1 };
}

/** Parameter i draws normals at counters i·2^24 + element of the `init` stream. */
export function tinyModelWeights(config: ModelConfig, seed: number): WeightMap {
  const weights: WeightMap = new Map();
  paramSpecs(config).forEach((spec, i) => {
    const { mean, std } = initFor(spec.name);
    const values = new Float32Array(numel(spec.shape));
    const base = i * 2 ** 24;
    for (let j = 0; j < values.length; j++)
      values[j] = mean + std * normalAt(seed, RngStream.init, base + j);
    weights.set(spec.name, values);
  });
  return weights;
}

export interface TinyModelOptions {
  kind: TinyModelKind;
  seed: number;
}

/** Writes a tiny random model as an HF directory at `dir` (replacing it) and returns it. */
export function writeTinyModel(dir: string, options: TinyModelOptions): HfModel {
  const config = tinyModelConfig(options.kind);
  const weights = tinyModelWeights(config, options.seed);
  const tokenizerDir = defaultModelDir();
  const tokenizerConfig = JSON.parse(
    fs.readFileSync(path.join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  );
  if (options.kind === 'qwen2') tokenizerConfig.chat_template = CHATML_TEMPLATE;
  const generation = {
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds[0],
    do_sample: false,
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  saveHfModel(dir, config, weights, {
    dtype: 'f32',
    copyFrom: tokenizerDir,
    extraFiles: {
      'tokenizer_config.json': json(tokenizerConfig),
      'generation_config.json': json(generation),
    },
  });
  return { config, weights, dir };
}
