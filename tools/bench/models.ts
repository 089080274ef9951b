/**
 * The benchmark models: the embedded stories260K, and random Qwen2-shaped models built in memory
 * (a ~25M-parameter one that runs anywhere, and the shapes of Qwen2.5-0.5B / 1.5B for GPUs).
 * Random weights only need the right shapes and sane magnitudes: speed does not depend on values.
 */
import {
  llama2cToModel,
  type ModelConfig,
  normalAt,
  paramCount,
  paramSpecs,
  RngStream,
  toHalfRope,
  type WeightMap,
} from '@oneshot-em/core';
import { loadStories260K } from '@oneshot-em/core/node';

export interface BenchModel {
  name: string;
  config: ModelConfig;
  weights: WeightMap;
  eosIds: number[];
  padId: number;
  params: number;
}

export interface Qwen2Shape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  vocabSize: number;
  /** tie_word_embeddings (default true: the small Qwen2.5 models; 7B has its own lm_head) */
  tied?: boolean;
}

/** Shapes by bench name. The Qwen2.5 ones copy the published config.json. */
export const QWEN2_SHAPES: Record<string, Qwen2Shape & { gpuOnly: boolean }> = {
  'qwen2-25m': {
    hiddenSize: 512,
    intermediateSize: 1408,
    numLayers: 8,
    numHeads: 8,
    numKvHeads: 4,
    vocabSize: 32000,
    gpuOnly: false,
  },
  'qwen2.5-0.5b': {
    hiddenSize: 896,
    intermediateSize: 4864,
    numLayers: 24,
    numHeads: 14,
    numKvHeads: 2,
    vocabSize: 151936,
    gpuOnly: true,
  },
  'qwen2.5-1.5b': {
    hiddenSize: 1536,
    intermediateSize: 8960,
    numLayers: 28,
    numHeads: 12,
    numKvHeads: 2,
    vocabSize: 151936,
    gpuOnly: true,
  },
  // Qwen2.5-7B / Qwen2.5-Math-7B: untied; its embedding and lm_head (152064 × 3584 f32,
  // 2.18 GB each) exceed a 2 GiB binding
  'qwen2.5-7b': {
    hiddenSize: 3584,
    intermediateSize: 18944,
    numLayers: 28,
    numHeads: 28,
    numKvHeads: 4,
    vocabSize: 152064,
    tied: false,
    gpuOnly: true,
  },
};

export const MODEL_NAMES = ['stories260K', ...Object.keys(QWEN2_SHAPES)];

export function qwen2Config(shape: Qwen2Shape): ModelConfig {
  return {
    modelType: 'qwen2',
    hiddenSize: shape.hiddenSize,
    intermediateSize: shape.intermediateSize,
    numLayers: shape.numLayers,
    numHeads: shape.numHeads,
    numKvHeads: shape.numKvHeads,
    headDim: shape.hiddenSize / shape.numHeads,
    rmsNormEps: 1e-6,
    ropeTheta: 1e6,
    ropeStyle: 'half',
    maxPositionEmbeddings: 32768,
    vocabSize: shape.vocabSize,
    tieWordEmbeddings: shape.tied ?? true,
    qkvBias: true,
    oBias: false,
    bosTokenId: null,
    eosTokenIds: [2],
    padTokenId: null,
    torchDtype: 'float32',
  };
}

/** Normals drawn once and tiled: drawing 1.5 billion Philox normals would take minutes. */
const POOL_SIZE = 1 << 20;

/**
 * Random weights: matrices N(0, 1/in), norm gains 1, biases N(0, 0.1²). Each tensor tiles a
 * pool of normals (RNG stream `init`) from its own offset, so rows differ within a period.
 */
export function randomBenchWeights(config: ModelConfig, seed: number): WeightMap {
  const pool = Float32Array.from({ length: POOL_SIZE }, (_, i) =>
    normalAt(seed, RngStream.init, i),
  );
  const weights: WeightMap = new Map();
  paramSpecs(config).forEach((spec, k) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (spec.name.endsWith('norm.weight')) values.fill(1);
    else {
      const scale = spec.shape.length === 2 ? 1 / Math.sqrt(spec.shape[1]) : 0.1;
      const offset = (k * 7919) % POOL_SIZE;
      for (let i = 0; i < n; i++) values[i] = scale * pool[(offset + i) % POOL_SIZE];
    }
    weights.set(spec.name, values);
  });
  return weights;
}

/** Builds a bench model by name (see MODEL_NAMES). */
export function benchModel(name: string, seed = 1): BenchModel {
  if (name === 'stories260K') {
    const { config, weights } = toHalfRope(llama2cToModel(loadStories260K()));
    return {
      name,
      config,
      weights,
      eosIds: config.eosTokenIds,
      padId: 0,
      params: paramCount(config),
    };
  }
  const shape = QWEN2_SHAPES[name];
  if (!shape)
    throw new Error(`--model ${name}: unknown; expected one of ${MODEL_NAMES.join(', ')}`);
  const config = qwen2Config(shape);
  return {
    name,
    config,
    weights: randomBenchWeights(config, seed),
    eosIds: config.eosTokenIds,
    padId: 0,
    params: paramCount(config),
  };
}

export function isGpuOnly(name: string): boolean {
  return QWEN2_SHAPES[name]?.gpuOnly ?? false;
}
