import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { parseModelConfig } from './hf-config.js';
import { assertRegularFile, pathExists } from './regular-file.js';

/** A JSON file that is missing or does not parse; the message names the file and the position. */
export class JsonFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'JsonFileError';
  }
}

/** Reads and parses a JSON file; errors name the file (and, for syntax errors, where). */
export function readJsonFile(file: string): unknown {
  let text: string;
  // a FIFO would block the read; a missing file keeps the message below
  if (pathExists(file)) assertRegularFile(file, 'a JSON file');
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new JsonFileError(
      file,
      err.code === 'ENOENT' ? 'file not found' : `cannot be read (${err.message})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JsonFileError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

/** `dir/config.json` parsed into a ModelConfig. */
export function readModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  return parseModelConfig(readJsonFile(file), file);
}
