// Public API of @oneshot-em/core: curated named exports, grouped by concern.

// backend contract
export type { Backend, DeviceMemory, TransferCounter } from './backend/backend.js';
export type { BackendCheck, BackendCreateOptions, BackendPlugin } from './backend/plugin.js';
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
// eval: benchmarks, prompting, answer extraction, grading, metrics, reports, compare plots
export type { EvalProblem, LoadBenchmarkOptions } from './eval/benchmarks.js';
export { BENCHMARKS, benchmarkSpec, PAPER_BENCHMARKS, parseBenchmark } from './eval/benchmarks.js';
export { extractAnswer, lastBoxed } from './eval/extract.js';
export type { GradeOptions, GradeReason, GradeResult } from './eval/grade.js';
export { grade } from './eval/grade.js';
export { gradeJsonl } from './eval/grade-jsonl.js';
export type {
  Accuracy,
  BenchmarkResult,
  EvalResults,
  GradedSample,
  ProblemRecord,
} from './eval/metrics.js';
export { benchmarkAccuracy, majorityCorrect, passAtK, summarizeResults } from './eval/metrics.js';
export { normalizeAnswer } from './eval/normalize.js';
export type { ApplyChatTemplate } from './eval/prompt.js';
export {
  buildEvalPrompt,
  COT_SYSTEM_PROMPT,
  cotMessages,
  EVAL_MAX_NEW_TOKENS,
  EVAL_STOP_STRINGS,
  truncateAtStop,
} from './eval/prompt.js';
export { formatResultsJson, formatResultsMarkdown, formatResultsTable } from './eval/report.js';
export type { Histogram, HistogramPairOptions, ValueSummary } from './eval/histogram-svg.js';
export { histogram, histogramPairSvg, summarizeValues } from './eval/histogram-svg.js';
export type { CompareReport, ModelSummary, ModelTokenStats } from './eval/compare-report.js';
export { compareReport } from './eval/compare-report.js';
// model files (pure parts; reading and writing live in ./node)
export { ModelConfigError, modelConfigToHfJson, parseModelConfig } from './io/hf-config.js';
export type { Llama2cCheckpoint, Llama2cHeader, Llama2cWeights } from './io/llama2c.js';
export { llama2cToModel, parseLlama2c, permuteForHalfRope, toHalfRope } from './io/llama2c.js';
export type {
  SafetensorsDtype,
  SafetensorsErrorCode,
  SafetensorsHeader,
  TensorInfo,
  TensorLayout,
} from './io/safetensors-header.js';
export {
  bf16ToF32,
  buildSafetensorsHeader,
  DTYPE_BYTES,
  f16ToF32,
  f32ToBf16,
  f32ToF16Into,
  MAX_HEADER_BYTES,
  NonFiniteTensorError,
  parseSafetensorsHeader,
  SafetensorsError,
} from './io/safetensors-header.js';
export { SIZE_LIMITS } from './io/size-limits.js';
export { snakeCase, snakeCaseKeys } from './io/json-keys.js';
export type { ModelGrads } from './model/backward.js';
export { modelBackward } from './model/backward.js';
// model
export type { ModelConfig, ModelType, RopeStyle } from './model/config.js';
export type { KvCache } from './model/decode.js';
export {
  cachedForward,
  createKvCache,
  decodeStep,
  disposeKvCache,
  prefill,
} from './model/decode.js';
export type { ForwardBatch, ForwardSaved, LayerActivations } from './model/forward.js';
export { disposeSaved, modelForward, positionsFromMask } from './model/forward.js';
export type { GenerateOptions, GenerateResult, PromptBatch } from './model/generate.js';
export { generate, greedyDecode, preparePromptBatch, samplingUniforms } from './model/generate.js';
export type { HeadOptions } from './model/head.js';
export { headBackward, headForward, modelLogits } from './model/head.js';
export type { ParamSpec, WeightMap } from './model/params.js';
export {
  EMBED,
  FINAL_NORM,
  LM_HEAD,
  layerParamNames,
  numel,
  paramCount,
  paramSpecs,
} from './model/params.js';
export { SHAPE_LEGEND } from './model/shape-legend.js';
export type { ModelWeights } from './model/weights.js';
export { headWeightName, uploadWeights } from './model/weights.js';
// objectives: the contract, the autodiff over per-token arrays, the built-ins
export type { Mask, Operand, Ops, Value } from './objectives/autodiff.js';
export { gradients, ops, Var } from './objectives/autodiff.js';
export { BUILTIN_OBJECTIVES } from './objectives/builtins.js';
export type {
  Objective,
  ObjectiveContext,
  ObjectiveEvaluation,
  ObjectiveLoss,
  ObjectiveStats,
} from './objectives/objective.js';
export {
  defineObjective,
  evaluateObjective,
  isObjective,
  objectiveStats,
  parameterDocs,
  parseObjectiveParams,
} from './objectives/objective.js';
export type { CompletionMaskConvention, ObjectiveBatch } from './objectives/objective-batch.js';
export {
  COMPLETION_MASK_CONVENTIONS,
  completionMask,
  createObjectiveBatch,
  keyMask,
  maskConvention,
  nextTokenTargets,
  teacherForcingMask,
} from './objectives/objective-batch.js';
export { warnDeprecated } from './deprecation.js';
export type { ObjectiveSpec } from './objectives/objective-spec.js';
export { builtinObjective, parseObjectiveSpec } from './objectives/objective-spec.js';
// objectives: vocabulary statistics (docs/architecture.md#objectives) and their CPU reference
export type { VocabRow, VocabStat } from './objectives/vocab-stats.js';
export { VOCAB_STAT_NAMES, VOCAB_STATS, vocabStat } from './objectives/vocab-stats.js';
export type { VocabStatsOptions } from './reference/vocab.js';
export { vocabGradReference, vocabStatsReference } from './reference/vocab.js';
export { llama2cForward } from './reference/llama2c-forward.js';
// CPU reference backend and llama2.c import (the oracle of every backend)
export type { ReferenceBackend, ReferencePrecision } from './reference/reference-backend.js';
export { createReferenceBackend } from './reference/reference-backend.js';
// sampling
export { normalAt, philox4x32, RngStream, uniformAt, uniforms } from './sampling/rng.js';
export { argmax, sampleRow } from './sampling/sampler.js';
export type { GenerationFlags, ResolvedGeneration } from './sampling/generation-config.js';
export {
  FALLBACK_MAX_NEW_TOKENS,
  resolveGeneration,
  TRANSFORMERS_GENERATION_DEFAULTS,
} from './sampling/generation-config.js';
export type { HfTokenizerSources } from './tokenizer/hf-tokenizer.js';
export { createHfTokenizer } from './tokenizer/hf-tokenizer.js';
export type { Llama2cVocab } from './tokenizer/llama2c.js';
export {
  createLlama2cTokenizer,
  LLAMA2C_BOS_ID,
  LLAMA2C_EOS_ID,
  Llama2cTokenizer,
  parseLlama2cTokenizer,
} from './tokenizer/llama2c.js';
export type { HfTokenizerJsonPair } from './tokenizer/llama2c-to-hf.js';
export { llama2cTokenizerToHfJson } from './tokenizer/llama2c-to-hf.js';
// tokenizers
export type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
} from './tokenizer/tokenizer.js';
export { validateTokenizer } from './tokenizer/validate-tokenizer.js';
export type { TrainBatch } from './train/batch.js';
export { buildBatch } from './train/batch.js';
export type { EntropyReport } from './train/entropy.js';
export { measureEntropy } from './train/entropy.js';
export type { LossAndGrads } from './train/loss-and-grads.js';
export { lossAndGrads } from './train/loss-and-grads.js';
export type { LrSchedule, LrSchedulerType } from './train/lr-schedule.js';
export {
  LR_SCHEDULER_TYPES,
  lrMultiplier,
  resolveWarmupSteps,
  scheduledLr,
} from './train/lr-schedule.js';
export type { StepMetrics } from './train/metrics.js';
export { runSvg } from './train/metrics.js';
export type { OptimizerConfig, OptimizerState } from './train/optimizer.js';
export {
  clipFactor,
  createOptimizerState,
  globalGradNorm,
  optimizerUpdate,
} from './train/optimizer.js';
// training, backend-independent parts
export type { TrainOptions } from './train/options.js';
export { parseTrainOptions, trainOptionsSchema } from './train/options.js';
export {
  MAX_NEW_TOKENS,
  MAX_SAMPLES,
  numberIn,
  optionFields,
  rangeText,
} from './train/option-fields.js';
export {
  type MemoryLimits,
  type PlanFit,
  type PlanSuggestion,
  planFits,
  suggestFits,
} from './train/memory-fit.js';
export {
  formatBytes,
  type MemoryItem,
  type MemoryPlan,
  type MemoryPlanInput,
  type PlanBackend,
  type PlanDtype,
  parseByteSize,
  planMemory,
  plannedParamCount,
  RUNTIME_BYTES,
} from './train/memory-plan.js';
export { rollout } from './train/rollout.js';
