// Public API of @oneshot-em/core: what the CLI, the backends, the tools and plugins import, the
// two plug-in contracts (a backend's TensorOps and Backend, an objective's defineObjective and
// the ops its loss is written with) and the types their signatures name. Everything else is
// internal to core. File-system loading: ./node; test utilities: ./testing. The list is pinned
// by api.test.ts (docs/architecture.md#packages-and-layering).

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
// eval: grading, reports and compare plots (the loop and the benchmark files: ./node)
export { PAPER_BENCHMARKS } from './eval/benchmarks.js';
export { extractAnswer } from './eval/extract.js';
export type { GradeOptions, GradeReason, GradeResult } from './eval/grade.js';
export { grade } from './eval/grade.js';
export { gradeJsonl } from './eval/grade-jsonl.js';
export type { Accuracy, BenchmarkResult, EvalResults } from './eval/metrics.js';
export { formatResultsJson, formatResultsMarkdown, formatResultsTable } from './eval/report.js';
export type { ValueSummary } from './eval/histogram-svg.js';
export type { CompareReport, ModelSummary, ModelTokenStats } from './eval/compare-report.js';
export { compareReport } from './eval/compare-report.js';
// model files (pure parts; reading and writing live in ./node)
export { parseModelConfig } from './io/hf-config.js';
export type { Llama2cCheckpoint, Llama2cHeader, Llama2cWeights } from './io/llama2c.js';
export { llama2cToModel, toHalfRope } from './io/llama2c.js';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16Into } from './io/safetensors-header.js';
export { snakeCaseKeys } from './io/json-keys.js';
// model: the forward, decoding and generation written once over TensorOps
export type { ModelGrads } from './model/backward.js';
export type { ModelConfig, ModelType, RopeStyle } from './model/config.js';
export type { KvCache } from './model/decode.js';
export { createKvCache, decodeStep, disposeKvCache, prefill } from './model/decode.js';
export type { ForwardBatch, ForwardSaved, LayerActivations } from './model/forward.js';
export { disposeSaved, modelForward, positionsFromMask } from './model/forward.js';
export type { GenerateOptions, GenerateResult, PromptBatch } from './model/generate.js';
export { generate, preparePromptBatch, samplingUniforms } from './model/generate.js';
export { modelLogits } from './model/head.js';
export type { ParamSpec, WeightMap } from './model/params.js';
export { numel, paramCount, paramSpecs } from './model/params.js';
export type { ModelWeights } from './model/weights.js';
export { uploadWeights } from './model/weights.js';
// objectives (docs/architecture.md#objectives): the contract and the autodiff a loss is written with
export type { Mask, Operand, Ops, Value } from './objectives/autodiff.js';
export { ops, Var } from './objectives/autodiff.js';
export type {
  Objective,
  ObjectiveContext,
  ObjectiveLoss,
  ObjectiveStats,
} from './objectives/objective.js';
export { defineObjective, parseObjectiveParams } from './objectives/objective.js';
export type { CompletionMaskConvention, ObjectiveBatch } from './objectives/objective-batch.js';
export {
  COMPLETION_MASK_CONVENTIONS,
  completionMask,
  createObjectiveBatch,
  keyMask,
  maskConvention,
  teacherForcingMask,
} from './objectives/objective-batch.js';
export { warnDeprecated } from './deprecation.js';
// the CPU reference backend (the oracle of every backend)
export type { ReferenceBackend, ReferencePrecision } from './reference/reference-backend.js';
export { createReferenceBackend } from './reference/reference-backend.js';
// sampling
export { normalAt, RngStream, uniformAt, uniforms } from './sampling/rng.js';
export { argmax } from './sampling/sampler.js';
export type { GenerationFlags, ResolvedGeneration } from './sampling/generation-config.js';
export { FALLBACK_MAX_NEW_TOKENS, resolveGeneration } from './sampling/generation-config.js';
// tokenizers
export type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
} from './tokenizer/tokenizer.js';
// training, backend-independent parts: batches, loss and gradients, optimizers, options, memory plan
export type { TrainBatch } from './train/batch.js';
export { buildBatch } from './train/batch.js';
export type { EntropyReport } from './train/entropy.js';
export { measureEntropy } from './train/entropy.js';
export type { LossAndGrads } from './train/loss-and-grads.js';
export { lossAndGrads } from './train/loss-and-grads.js';
export { resolveWarmupSteps } from './train/lr-schedule.js';
export type { StepMetrics } from './train/metrics.js';
export type { OptimizerConfig, OptimizerState } from './train/optimizer.js';
export { createOptimizerState, globalGradNorm, optimizerUpdate } from './train/optimizer.js';
export type { TrainOptions } from './train/options.js';
export { parseTrainOptions, trainOptionsSchema } from './train/options.js';
export { MAX_SAMPLES, optionFields } from './train/option-fields.js';
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
} from './train/memory-plan.js';
export { rollout } from './train/rollout.js';
