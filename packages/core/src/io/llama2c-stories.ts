import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Llama2cCheckpoint, parseLlama2c } from './llama2c.js';
import { assertRegularFile } from './regular-file.js';

/** The original stories260K llama2.c files embedded in the package (assets/stories260K/PROVENANCE.md). */
export const STORIES260K_CHECKPOINT = fileURLToPath(
  new URL('../../assets/stories260K/llama2c/stories260K.bin', import.meta.url),
);
export const STORIES260K_TOKENIZER = fileURLToPath(
  new URL('../../assets/stories260K/llama2c/tok512.bin', import.meta.url),
);

export function readLlama2cFile(file: string): Llama2cCheckpoint {
  assertRegularFile(file, 'a llama2.c checkpoint');
  // read whole (the format has no index); Node cannot hold 2 GiB or more in one buffer
  const size = fs.statSync(file).size;
  if (size >= 2 ** 31 - 1) {
    throw new Error(
      `${file}: ${size} bytes; llama2.c checkpoints of 2 GiB or more are not supported (load it as a Hugging Face directory instead: llama2.c's export.py writes one)`,
    );
  }
  return parseLlama2c(new Uint8Array(fs.readFileSync(file)), file);
}

export function loadStories260K(): Llama2cCheckpoint {
  return readLlama2cFile(STORIES260K_CHECKPOINT);
}
