// @oneshot-em/core/testing: the backend conformance suite and the test utilities every package
// shares (expectClose, finite differences, the AdamW reference, seeded data and fixture models).
export type { TinyModelKind, TinyModelOptions } from './testing/fixtures.js';
export { tinyModelConfig, tinyModelWeights, writeTinyModel } from './testing/fixtures.js';
export type { GradientCheckOptions, GradientCheckResult } from './objectives/gradient-check.js';
export {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from './objectives/gradient-check.js';
export type { ConformanceOptions, ConformanceTolerances } from './testing/conformance.js';
export {
  DEFAULT_CONFORMANCE_TOLERANCES,
  describeBackendConformance,
  lowPrecisionTolerances,
  GREEDY_CASE,
  SAMPLED_CASE,
  SAMPLED_EOS_CASE,
} from './testing/conformance.js';
export type { HostTensor, Tolerance } from './testing/conformance-compare.js';
export {
  compare,
  expectClose,
  expectEqualInts,
  maxAbsDiff,
  peakRelative,
  randomTensor,
  sampleIndices,
} from './testing/conformance-compare.js';
export type { FiniteDifferenceOptions } from './testing/finite-differences.js';
export {
  finiteDifferences,
  finiteDifferencesAsync,
  weightedSum,
} from './testing/finite-differences.js';
export { randomFloats, randomInts } from './testing/random.js';
export type { LowPrecisionStepChecks } from './testing/train-step.js';
export {
  expectLowPrecisionStep,
  peakRelativeError,
  stepBatch,
  stepModels,
  tokenEntropyObjective,
} from './testing/train-step.js';
export type { TinyModel } from './testing/conformance-models.js';
export {
  randomWeights,
  stories260K,
  TINY_LLAMA,
  TINY_QWEN2,
  tinyModels,
} from './testing/conformance-models.js';
export type { OpCase } from './testing/conformance-ops.js';
export { opCases } from './testing/conformance-ops.js';
export type { AdamwState } from './testing/optimizer.js';
export {
  expectAdamwClose,
  referenceAdamwStep,
  referenceSgdStep,
  TEST_SGD_PARAMS,
  testAdamwParams,
  testOptimizerConfig,
} from './testing/optimizer.js';
export type { OffloadRun } from './testing/offload-runs.js';
export {
  checkpointBytes,
  OFFLOAD_CONFIG,
  OFFLOAD_PARAMS,
  offloadRun,
} from './testing/offload-runs.js';
