import type { Backend } from '../backend/backend.js';
import type { ModelConfig } from '../model/config.js';
import { type GenerateOptions, type GenerateResult, generate } from '../model/generate.js';
import type { ModelWeights } from '../model/weights.js';

/** Sampling through the backend's fused path when it has one, else core's generic decode loop. */
export function rollout(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  return backend.generate ? backend.generate(config, w, opts) : generate(backend, config, w, opts);
}
