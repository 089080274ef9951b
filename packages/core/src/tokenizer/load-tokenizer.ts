/**
 * Loading a tokenizer from a model directory: `tokenizer.json` (+ `tokenizer_config.json`,
 * `chat_template.jinja`) when present, else a llama2.c `tokenizer.bin`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertRegularFile } from '../io/regular-file.js';
import { createHfTokenizer } from './hf-tokenizer.js';
import { createLlama2cTokenizer, type Llama2cTokenizer } from './llama2c.js';
import type { Tokenizer } from './tokenizer.js';

function readJson(path: string): unknown {
  let text: string;
  if (existsSync(path)) assertRegularFile(path, 'a tokenizer JSON file');
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

function readOptionalJsonObject(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const value = readJson(path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function readTemplate(path: string): string {
  assertRegularFile(path, 'a chat template');
  return readFileSync(path, 'utf8');
}

/**
 * Loads `dir/tokenizer.json` with `tokenizer_config.json` and `chat_template.jinja` when
 * present. Older repositories keep bos/eos/pad in `special_tokens_map.json`; it fills the
 * fields tokenizer_config.json leaves out.
 */
export function loadHfTokenizer(dir: string): Tokenizer {
  const templatePath = join(dir, 'chat_template.jinja');
  return createHfTokenizer({
    tokenizerJson: readJson(join(dir, 'tokenizer.json')),
    tokenizerConfig: {
      ...readOptionalJsonObject(join(dir, 'special_tokens_map.json')),
      ...readOptionalJsonObject(join(dir, 'tokenizer_config.json')),
    },
    chatTemplateFile: existsSync(templatePath) ? readTemplate(templatePath) : null,
    source: dir,
  });
}

/** Loads a llama2.c tokenizer file (e.g. `tokenizer.bin`, `tok512.bin`). */
export function loadLlama2cTokenizer(path: string): Llama2cTokenizer {
  assertRegularFile(path, 'a llama2.c tokenizer');
  return createLlama2cTokenizer(readFileSync(path), path);
}

/** The tokenizer of a model directory: `tokenizer.json` if present, else `tokenizer.bin` (llama2.c). */
export function loadTokenizer(dir: string): Tokenizer {
  if (existsSync(join(dir, 'tokenizer.json'))) return loadHfTokenizer(dir);
  const bin = join(dir, 'tokenizer.bin');
  if (existsSync(bin)) return loadLlama2cTokenizer(bin);
  throw new Error(
    `${dir}: no tokenizer found; expected tokenizer.json (Hugging Face) or tokenizer.bin (llama2.c)`,
  );
}
