// Public API of @oneshot-em/core: curated named exports, grouped by concern.

// backend contract
export type { Backend, TransferCounter } from './backend/backend.js';
export type {
  AdamWParams,
  AttentionOptions,
  DType,
  RopeOptions,
  SamplingParams,
  SgdParams,
  Tensor,
  TensorOps,
  VocabStatName,
} from './backend/tensor-ops.js';

// model
export type { ModelConfig, ModelType, RopeStyle } from './model/config.js';
export type { ParamSpec, WeightMap } from './model/params.js';
export { EMBED, FINAL_NORM, LM_HEAD, layerParamNames, numel, paramCount, paramSpecs } from './model/params.js';

// sampling
export { normalAt, philox4x32, RngStream, uniformAt, uniforms } from './sampling/rng.js';

// objectives: vocabulary statistics (design §4) and their CPU reference
export type { VocabRow, VocabStat } from './objectives/vocab-stats.js';
export { VOCAB_STAT_NAMES, VOCAB_STATS, vocabStat } from './objectives/vocab-stats.js';
export type { VocabStatsOptions } from './objectives/vocab-stats-reference.js';
export { vocabGradReference, vocabStatsReference } from './objectives/vocab-stats-reference.js';
