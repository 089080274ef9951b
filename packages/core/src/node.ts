// @oneshot-em/core/node: the parts that touch the file system (model, tokenizer and data loading).

// backend packages, loaded by name (a backend package may be left out of an installation)
export type { BackendPackageName } from './backend/load-plugin.js';
export {
  BACKEND_PACKAGES,
  BackendLoadError,
  BackendNotInstalledError,
  loadBackendPlugin,
} from './backend/load-plugin.js';
// eval: the bundled benchmark files and the resumable evaluation loop
export { EVAL_DATA_DIR, loadBenchmark } from './eval/load-benchmark.js';
export type { RunEvalOptions } from './eval/run-eval.js';
export { PROBLEMS_FILE, RESULTS_FILE, runEval } from './eval/run-eval.js';
// model files: HF directories (config.json + safetensors, single or sharded), atomic saves
export { recoverInterruptedWrite, writeDirAtomically } from './io/atomic.js';
export { JsonFileError, readJsonFile, readModelConfig } from './io/hf-config-file.js';
export type { HfModel, SaveDtype, SaveHfModelOptions } from './io/hf-model.js';
export {
  COPIED_FILES,
  checkModelTensors,
  defaultModelDir,
  loadHfModel,
  modelStorageDtype,
  resolveSaveDtype,
  saveHfModel,
} from './io/hf-model.js';
export type { ConvertLlama2cOptions } from './io/llama2c-convert.js';
export { convertLlama2c } from './io/llama2c-convert.js';
export {
  loadStories260K,
  readLlama2cFile,
  STORIES260K_CHECKPOINT,
  STORIES260K_TOKENIZER,
} from './io/llama2c-stories.js';
export {
  assertDirectory,
  assertRegularFile,
  NotRegularFileError,
  readRegularFileText,
} from './io/regular-file.js';
export type { RawTensor, TensorToWrite } from './io/safetensors.js';
export {
  f32TensorToWrite,
  rawTensorToWrite,
  SafetensorsFile,
  writeSafetensors,
} from './io/safetensors.js';
export {
  INDEX_FILE,
  planShards,
  SafetensorsModel,
  SINGLE_FILE,
  writeSafetensorsModel,
  writeSafetensorsSet,
  writeSafetensorsSetAsync,
} from './io/safetensors-index.js';
export { DEFAULT_MAX_SHARD_SIZE, parseShardSize } from './io/shard-size.js';
// objectives by name, package or file path
export type { ResolvedObjective, ResolveObjectiveOptions } from './objectives/resolve-objective.js';
export { resolveObjective } from './objectives/resolve-objective.js';
export {
  loadHfTokenizer,
  loadLlama2cTokenizer,
  loadTokenizer,
} from './tokenizer/load-tokenizer.js';
export type { TrainerState } from './train/checkpoint.js';
export type { HfTrainerState } from './train/hf-trainer-state.js';
export type { CheckpointOptions } from './train/checkpoint.js';
export {
  loadCheckpointState,
  MASTER_WEIGHTS_PREFIX,
  OPTIMIZER_PREFIX,
  RESUME_STATE_FILE,
  readResumeState,
  readWeights,
  rotateCheckpoints,
  saveCheckpoint,
  TRAINER_STATE_FILE,
} from './train/checkpoint.js';
// training: the one-shot EM loop, checkpoints, model loading, prompts and rollouts files
export type { LoadedModel } from './train/load-model.js';
export { encodePrompt, loadModel } from './train/load-model.js';
export { loadPrompts } from './train/prompts.js';
export type { LoadRolloutsOptions, RolloutLine } from './train/rollouts.js';
export { loadRollouts, parseRolloutLine, RolloutsError } from './train/rollouts.js';
export type {
  RolloutSource,
  TrainerHooks,
  TrainerModel,
  TrainerSettings,
} from './train/trainer.js';
export { NonFiniteError, train } from './train/trainer.js';
// the host optimizer (AdamW over worker threads, WebAssembly SIMD): ORT's, and optimizerOn 'host'
export type { HostOptimizerOptions } from './train/host-optimizer/pool.js';
export { HostOptimizer } from './train/host-optimizer/pool.js';
// where the optimizer runs (ZeRO-offload): defaults per backend and the ORT check
export type { HostOptimizerState, OptimizerOn } from './train/offload.js';
export { defaultOptimizerOn, trainerOffloads } from './train/offload.js';
