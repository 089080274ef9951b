// @oneshot-em/core/node: the parts that touch the file system (model, tokenizer and data loading,
// checkpoints, plug-ins, the trainer and eval loops), curated as the main entry: what other
// packages import and the types those signatures name (pinned by api.test.ts).

// backend packages, loaded by name (a backend package may be left out of an installation)
export type { BackendPackageName } from './backend/load-plugin.js';
export {
  BACKEND_PACKAGES,
  BackendLoadError,
  BackendNotInstalledError,
  loadBackendPlugin,
} from './backend/load-plugin.js';
// eval: the resumable evaluation loop
export type { RunEvalOptions } from './eval/run-eval.js';
export { runEval } from './eval/run-eval.js';
// model files: HF directories (config.json + safetensors, single or sharded), llama2.c conversion
export { readJsonFile, readModelConfig } from './io/hf-config-file.js';
export type { HfModel, SaveDtype } from './io/hf-model.js';
export { defaultModelDir, loadHfModel } from './io/hf-model.js';
export type { ConvertLlama2cOptions } from './io/llama2c-convert.js';
export { convertLlama2c } from './io/llama2c-convert.js';
export { loadStories260K } from './io/llama2c-stories.js';
export { assertRegularFile } from './io/regular-file.js';
export { parseShardSize } from './io/shard-size.js';
// objectives by name, package or file path
export type { ResolvedObjective, ResolveObjectiveOptions } from './objectives/resolve-objective.js';
export { resolveObjective } from './objectives/resolve-objective.js';
export { loadTokenizer } from './tokenizer/load-tokenizer.js';
export type { TrainerState } from './train/checkpoint.js';
export type { HfTrainerState } from './train/hf-trainer-state.js';
export type { CheckpointOptions } from './train/checkpoint.js';
export {
  loadCheckpointState,
  RESUME_STATE_FILE,
  readResumeState,
  saveCheckpoint,
  TRAINER_STATE_FILE,
} from './train/checkpoint.js';
// training: the one-shot EM loop, checkpoints, model loading, prompts and rollouts files
export type { LoadedModel } from './train/load-model.js';
export { encodePrompt, loadModel } from './train/load-model.js';
export { loadPrompts } from './train/prompts.js';
export type { LoadRolloutsOptions, RolloutLine } from './train/rollouts.js';
export { loadRollouts } from './train/rollouts.js';
export type {
  RolloutSource,
  TrainerHooks,
  TrainerModel,
  TrainerSettings,
} from './train/trainer.js';
export { train } from './train/trainer.js';
// the host optimizer (AdamW over worker threads, WebAssembly SIMD): ORT's, and optimizerOn 'host'
export type { HostOptimizerOptions } from './train/host-optimizer/pool.js';
export { HostOptimizer } from './train/host-optimizer/pool.js';
// where the optimizer runs (ZeRO-offload): defaults per backend and the ORT check
export type { OptimizerOn } from './train/offload.js';
export { trainerOffloads } from './train/offload.js';
