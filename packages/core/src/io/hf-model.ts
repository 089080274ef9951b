import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../model/config.js';
import { LM_HEAD, numel, paramSpecs, type WeightMap } from '../model/params.js';
import { previousPath, writeDirAtomically } from './atomic.js';
import type { FileIo } from './file-io.js';
import { modelConfigToHfJson } from './hf-config.js';
import { assertDirectory } from './regular-file.js';
import { readJsonFile, readModelConfig } from './hf-config-file.js';
import { type SafetensorsDtype, SafetensorsError } from './safetensors-header.js';
import {
  hasSafetensorsSet,
  MODEL_PREFIX,
  PT_METADATA,
  SafetensorsModel,
  writeSafetensorsSet,
} from './safetensors-index.js';
import type { TensorSource, TensorToWrite } from './safetensors-writer.js';

/** A Hugging Face model directory in memory: f32 weights in `paramSpecs(config)` order. */
export interface HfModel {
  config: ModelConfig;
  weights: WeightMap;
  dir: string;
}

/**
 * The embedded default model (stories260K converted to HF format), resolved from this file's
 * location inside the core package, so it is found whatever the working directory.
 */
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../../assets/stories260K', import.meta.url));
}

/**
 * Files copied verbatim from the source model into a saved checkpoint, as a tokenizer's and a
 * generation config's save_pretrained would write them again: the tokenizer in whichever form it
 * came (fast JSON, sentencepiece, llama2.c, BPE vocab + merges), its chat template (transformers
 * ≥ 4.50 keeps it in chat_template.jinja, processors in chat_template.json) and the generation
 * defaults.
 */
export const COPIED_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'tokenizer.bin',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
] as const;

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** RoPE frequency buffers some older checkpoints carry; they are recomputed, never loaded. */
const IGNORED_TENSOR = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Checks the tensors in `model` against the parameter table of `config`: every parameter
 * present with its shape, nothing else (a tied model's redundant `lm_head.weight` is allowed).
 */
export function checkModelTensors(model: SafetensorsModel, config: ModelConfig): void {
  const specs = paramSpecs(config);
  const expected = new Map(specs.map((s) => [s.name, s.shape]));
  if (config.tieWordEmbeddings) expected.set(LM_HEAD, [config.vocabSize, config.hiddenSize]);
  const present = new Set(model.names);
  for (const s of specs) {
    if (!present.has(s.name)) {
      throw new SafetensorsError(
        'missing_tensor',
        model.dir,
        `config.json requires it with shape ${shapeText(s.shape)} but no safetensors file holds it`,
        s.name,
      );
    }
  }
  for (const name of model.names) {
    const shape = expected.get(name);
    const info = model.info(name);
    if (shape === undefined) {
      if (IGNORED_TENSOR.test(name)) continue;
      throw new SafetensorsError(
        'unexpected_tensor',
        info.file,
        `not a parameter of this ${config.modelType} config (check num_hidden_layers, attention_bias, tie_word_embeddings)`,
        name,
      );
    }
    if (shape.length !== info.shape.length || shape.some((d, i) => d !== info.shape[i])) {
      throw new SafetensorsError(
        'wrong_shape',
        info.file,
        `shape ${shapeText(info.shape)} but config.json implies ${shapeText(shape)}`,
        name,
      );
    }
  }
}

/** Storage dtype of saved weights: `--save-dtype` without `auto`. */
export type SaveDtype = 'f32' | 'bf16' | 'f16';

export const SAFETENSORS_DTYPE: Record<SaveDtype, SafetensorsDtype> = {
  f32: 'F32',
  bf16: 'BF16',
  f16: 'F16',
};

const TORCH_DTYPE: Record<SaveDtype, ModelConfig['torchDtype']> = {
  f32: 'float32',
  bf16: 'bfloat16',
  f16: 'float16',
};

const FROM_SAFETENSORS: Record<SafetensorsDtype, SaveDtype> = {
  F32: 'f32',
  BF16: 'bf16',
  F16: 'f16',
};
const FROM_TORCH: Record<ModelConfig['torchDtype'], SaveDtype> = {
  float32: 'f32',
  bfloat16: 'bf16',
  float16: 'f16',
};

/** config.json's dtype field as written: `torch_dtype`, or `dtype` (transformers ≥ 5), or none. */
function configDtypeField(json: Record<string, unknown>): 'torch_dtype' | 'dtype' | undefined {
  if (json.torch_dtype !== undefined && json.torch_dtype !== null) return 'torch_dtype';
  if (json.dtype !== undefined && json.dtype !== null) return 'dtype';
  return undefined;
}

/**
 * The dtype a model loads in with transformers' `dtype="auto"`, which save_pretrained writes back:
 * config.json's `torch_dtype` (or `dtype`) when it names one, else that of the first
 * floating-point tensor of the safetensors files; f32 when the directory has neither.
 */
export function modelStorageDtype(dir: string): SaveDtype {
  const configFile = path.join(dir, 'config.json');
  if (fs.existsSync(configFile)) {
    const config = readModelConfig(dir); // validates the field's value
    const json = readJsonFile(configFile) as Record<string, unknown>;
    if (configDtypeField(json) !== undefined) return FROM_TORCH[config.torchDtype];
  }
  if (hasSafetensorsSet(dir, MODEL_PREFIX)) {
    const model = SafetensorsModel.open(dir);
    try {
      const [first] = model.names;
      if (first !== undefined) return FROM_SAFETENSORS[model.info(first).dtype];
    } finally {
      model.close();
    }
  }
  return 'f32';
}

/** `--save-dtype`: `auto` is the base model's storage dtype (modelStorageDtype of `baseDir`). */
export function resolveSaveDtype(requested: SaveDtype | 'auto', baseDir: string): SaveDtype {
  return requested === 'auto' ? modelStorageDtype(baseDir) : requested;
}

/**
 * Loads config.json and the weights of an HF directory (single file or shards + index),
 * validated against the config: one tensor at a time, by positioned reads of `io.chunkBytes`.
 */
export function loadHfModel(dir: string, io?: FileIo): HfModel {
  if (!fs.existsSync(dir) && fs.existsSync(previousPath(dir))) {
    throw new Error(
      `${dir}: missing, but a save into it was interrupted and left the previous checkpoint at ${previousPath(dir)}; recoverInterruptedWrite (or the next save) puts it back`,
    );
  }
  assertDirectory(dir, 'a model directory');
  const config = readModelConfig(dir);
  const model = SafetensorsModel.open(dir, MODEL_PREFIX, io);
  try {
    checkModelTensors(model, config);
    const weights: WeightMap = new Map();
    for (const s of paramSpecs(config)) weights.set(s.name, model.readF32(s.name));
    return { config, weights, dir };
  } finally {
    model.close();
  }
}

export interface SaveHfModelOptions {
  /** Storage type of the weights (default f32); config.json's torch_dtype follows it. */
  dtype?: SaveDtype;
  /** A model directory whose tokenizer and generation files are copied along. */
  copyFrom?: string;
  /** Split into shards + index past this many bytes of tensor data (default: never). */
  maxShardSize?: number;
  /**
   * More files for the directory, by name (a relative path; folders are created). Written
   * last, so they replace copied files of the same name.
   */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Chunk size and write function of every tensor file (tests inject faults through it). */
  io?: FileIo;
}

function checkWeights(config: ModelConfig, weights: WeightMap): void {
  const specs = paramSpecs(config);
  const names = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const w = weights.get(s.name);
    if (w === undefined)
      throw new Error(`saveHfModel: weight "${s.name}" ${shapeText(s.shape)} is missing`);
    if (w.length !== numel(s.shape)) {
      throw new Error(
        `saveHfModel: weight "${s.name}" has ${w.length} values, shape ${shapeText(s.shape)} needs ${numel(s.shape)}`,
      );
    }
  }
  for (const name of weights.keys()) {
    if (!names.has(name))
      throw new Error(`saveHfModel: weight "${name}" is not a parameter of this config`);
  }
}

/**
 * The model's weights in `paramSpecs` order, stored as `dtype`; `read(name)` gives a tensor's
 * f32 values when its turn comes (the writer checks them finite and converts chunk by chunk).
 */
export function hfWeightTensors(
  config: ModelConfig,
  dtype: SaveDtype,
  read: (name: string) => TensorSource | Promise<TensorSource>,
): TensorToWrite[] {
  return paramSpecs(config).map((s) => ({
    name: s.name,
    dtype: SAFETENSORS_DTYPE[dtype],
    shape: s.shape,
    read: () => read(s.name),
  }));
}

/** config.json (torch_dtype = `dtype`) into `dir`. */
export function writeHfConfig(dir: string, config: ModelConfig, dtype: SaveDtype): void {
  const hfConfig = modelConfigToHfJson({ ...config, torchDtype: TORCH_DTYPE[dtype] });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(hfConfig, null, 2)}\n`);
}

/**
 * config.json of a model trained from `baseDir`: the base's file with every field it has
 * (architectures, transformers_version, fields this project does not read), byte for byte when
 * the dtype stays, else with only its dtype field (`torch_dtype`, or `dtype` as transformers ≥ 5
 * writes it) set to `dtype`. The base must describe the same model as `config`: a different
 * architecture is an error, not a silently wrong file.
 */
export function writeHfConfigFrom(
  dir: string,
  baseDir: string,
  config: ModelConfig,
  dtype: SaveDtype,
): void {
  const file = path.join(baseDir, 'config.json');
  // a base without one (a llama2.c file): the config.json transformers would write
  if (!fs.existsSync(file)) {
    writeHfConfig(dir, config, dtype);
    return;
  }
  const base = readModelConfig(baseDir);
  const same = (c: ModelConfig) =>
    JSON.stringify(Object.entries({ ...c, torchDtype: '' }).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (same(base) !== same(config)) {
    throw new Error(
      `${file}: describes another model than the one being saved (its config.json cannot be reused)`,
    );
  }
  const out = path.join(dir, 'config.json');
  const json = readJsonFile(file) as Record<string, unknown>;
  const field = configDtypeField(json);
  if (field !== undefined && base.torchDtype === TORCH_DTYPE[dtype]) {
    fs.copyFileSync(file, out);
    return;
  }
  json[field ?? 'torch_dtype'] = TORCH_DTYPE[dtype];
  fs.writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
}

/** The files besides config and weights: tokenizer + generation files of `copyFrom`, extras. */
export function writeHfSideFiles(
  dir: string,
  options: Pick<SaveHfModelOptions, 'copyFrom' | 'extraFiles'>,
): string[] {
  const written: string[] = [];
  if (options.copyFrom !== undefined) {
    for (const name of COPIED_FILES) {
      const src = path.join(options.copyFrom, name);
      if (!fs.existsSync(src)) continue;
      fs.copyFileSync(src, path.join(dir, name));
      written.push(name);
    }
  }
  for (const [name, contents] of Object.entries(options.extraFiles ?? {})) {
    const file = path.join(dir, name);
    if (path.relative(dir, file).startsWith('..') || path.isAbsolute(name)) {
      throw new Error(`saveHfModel: extra file "${name}" would lie outside the model directory`);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
    if (!written.includes(name)) written.push(name);
  }
  return written;
}

/**
 * Writes an HF directory (config.json, model.safetensors or shards + index, copied tokenizer
 * files) atomically: a crash at any point leaves either the previous directory or the new
 * one complete at `dir` (see io/atomic.ts). Tensors are written one at a time, in chunks; a
 * non-finite value is an error naming the tensor and index, and nothing is saved. Returns the
 * names of the files written.
 */
export function saveHfModel(
  dir: string,
  config: ModelConfig,
  weights: WeightMap,
  options: SaveHfModelOptions = {},
): string[] {
  checkWeights(config, weights);
  const dtype = options.dtype ?? 'f32';
  const tensors = hfWeightTensors(config, dtype, (name) => ({
    kind: 'f32',
    values: weights.get(name) as Float32Array,
  }));
  const written: string[] = [];
  writeDirAtomically(dir, (tmp) => {
    writeHfConfig(tmp, config, dtype);
    written.push('config.json');
    written.push(
      ...writeSafetensorsSet(tmp, MODEL_PREFIX, tensors, {
        maxShardSize: options.maxShardSize,
        metadata: PT_METADATA,
        io: options.io,
      }),
    );
    for (const name of writeHfSideFiles(tmp, options))
      if (!written.includes(name)) written.push(name);
  });
  return written;
}
