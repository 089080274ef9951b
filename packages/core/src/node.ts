// @oneshot-em/core/node: the parts that touch the file system (model, tokenizer and data loading).
export {
  loadStories260K,
  readLlama2cFile,
  STORIES260K_CHECKPOINT,
  STORIES260K_TOKENIZER,
} from './io/llama2c-stories.js';
export type { ConvertLlama2cOptions } from './io/llama2c-convert.js';
export { convertLlama2c } from './io/llama2c-convert.js';
export {
  loadHfTokenizer,
  loadLlama2cTokenizer,
  loadTokenizer,
} from './tokenizer/load-tokenizer.js';

// model files: HF directories (config.json + safetensors, single or sharded), atomic saves
export { recoverInterruptedWrite, writeDirAtomically } from './io/atomic.js';
export { JsonFileError, readJsonFile, readModelConfig } from './io/hf-config-file.js';
export type { HfModel, SaveHfModelOptions } from './io/hf-model.js';
export {
  COPIED_FILES,
  checkModelTensors,
  defaultModelDir,
  loadHfModel,
  saveHfModel,
} from './io/hf-model.js';
export type { RawTensor, TensorToWrite } from './io/safetensors.js';
export {
  f32TensorToWrite,
  rawTensorToWrite,
  SafetensorsFile,
  writeSafetensors,
} from './io/safetensors.js';
export {
  INDEX_FILE,
  SafetensorsModel,
  SINGLE_FILE,
  writeSafetensorsModel,
} from './io/safetensors-index.js';

// objectives by name, package or file path
export type { ResolvedObjective, ResolveObjectiveOptions } from './objectives/resolve-objective.js';
export { resolveObjective } from './objectives/resolve-objective.js';

// eval: the bundled benchmark files and the resumable evaluation loop
export { EVAL_DATA_DIR, loadBenchmark } from './eval/load-benchmark.js';
export type { RunEvalOptions } from './eval/run-eval.js';
export { PROBLEMS_FILE, RESULTS_FILE, runEval } from './eval/run-eval.js';
