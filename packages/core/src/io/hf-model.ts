import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../model/config.js';
import { LM_HEAD, numel, paramSpecs, type WeightMap } from '../model/params.js';
import { previousPath, writeDirAtomically } from './atomic.js';
import { modelConfigToHfJson } from './hf-config.js';
import { readModelConfig } from './hf-config-file.js';
import { f32TensorToWrite } from './safetensors.js';
import { SafetensorsError } from './safetensors-header.js';
import { SafetensorsModel, writeSafetensorsModel } from './safetensors-index.js';

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
 * Files copied verbatim from the source model into a saved checkpoint: the tokenizer in
 * whichever form it came (fast JSON, sentencepiece, llama2.c, BPE vocab + merges) and the
 * generation defaults.
 */
export const COPIED_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'tokenizer.bin',
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

/** Loads config.json and the weights of an HF directory, validated against the config. */
export function loadHfModel(dir: string): HfModel {
  if (!fs.existsSync(dir) && fs.existsSync(previousPath(dir))) {
    throw new Error(
      `${dir}: missing, but a save into it was interrupted and left the previous checkpoint at ${previousPath(dir)}; recoverInterruptedWrite (or the next save) puts it back`,
    );
  }
  const config = readModelConfig(dir);
  const model = SafetensorsModel.open(dir);
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
  /** Storage type of model.safetensors (default f32). */
  dtype?: 'f32' | 'bf16';
  /** A model directory whose tokenizer and generation files are copied along. */
  copyFrom?: string;
  /** Split into shards + index past this many bytes of tensor data (default: never). */
  maxShardBytes?: number;
  /**
   * More files for the directory, by name (a relative path; folders are created). Written
   * last, so they replace copied files of the same name.
   */
  extraFiles?: Record<string, string | Uint8Array>;
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
    for (let i = 0; i < w.length; i++) {
      if (!Number.isFinite(w[i]))
        throw new Error(
          `saveHfModel: weight "${s.name}"[${i}] is ${w[i]}; refusing to save a non-finite checkpoint`,
        );
    }
  }
  for (const name of weights.keys()) {
    if (!names.has(name))
      throw new Error(`saveHfModel: weight "${name}" is not a parameter of this config`);
  }
}

/**
 * Writes an HF directory (config.json, model.safetensors or shards + index, copied tokenizer
 * files) atomically: a crash at any point leaves either the previous directory or the new
 * one complete at `dir` (see io/atomic.ts). Returns the names of the files written.
 */
export function saveHfModel(
  dir: string,
  config: ModelConfig,
  weights: WeightMap,
  options: SaveHfModelOptions = {},
): string[] {
  checkWeights(config, weights);
  const dtype = options.dtype ?? 'f32';
  const hfConfig = modelConfigToHfJson({
    ...config,
    torchDtype: dtype === 'bf16' ? 'bfloat16' : 'float32',
  });
  const tensors = paramSpecs(config).map((s) =>
    f32TensorToWrite(
      s.name,
      s.shape,
      weights.get(s.name) as Float32Array,
      dtype === 'bf16' ? 'BF16' : 'F32',
    ),
  );
  const written: string[] = [];
  writeDirAtomically(dir, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), `${JSON.stringify(hfConfig, null, 2)}\n`);
    written.push('config.json', ...writeSafetensorsModel(tmp, tensors, options.maxShardBytes));
    if (options.copyFrom !== undefined) {
      for (const name of COPIED_FILES) {
        const src = path.join(options.copyFrom, name);
        if (!fs.existsSync(src)) continue;
        fs.copyFileSync(src, path.join(tmp, name));
        written.push(name);
      }
    }
    for (const [name, contents] of Object.entries(options.extraFiles ?? {})) {
      const file = path.join(tmp, name);
      if (path.relative(tmp, file).startsWith('..') || path.isAbsolute(name)) {
        throw new Error(`saveHfModel: extra file "${name}" would lie outside the model directory`);
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, contents);
      if (!written.includes(name)) written.push(name);
    }
  });
  return written;
}
