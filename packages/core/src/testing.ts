// @oneshot-em/core/testing: the backend conformance suite, fixtures and gradient checks.
export type { TinyModelKind, TinyModelOptions } from './testing/fixtures.js';
export { tinyModelConfig, tinyModelWeights, writeTinyModel } from './testing/fixtures.js';
export type { GradientCheckOptions, GradientCheckResult } from './objectives/gradient-check.js';
export {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from './objectives/gradient-check.js';
