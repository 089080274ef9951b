import * as fs from 'node:fs';
import type { ModelConfig } from '../model/config.js';
import { createLlama2cTokenizer } from '../tokenizer/llama2c.js';
import { llama2cTokenizerToHfJson } from '../tokenizer/llama2c-to-hf.js';
import { saveHfModel } from './hf-model.js';
import { llama2cToModel, toHalfRope } from './llama2c.js';
import { readLlama2cFile } from './llama2c-stories.js';
import { assertRegularFile } from './regular-file.js';

export interface ConvertLlama2cOptions {
  /** llama2.c checkpoint (.bin, legacy v0 layout) */
  checkpoint: string;
  /** its llama2.c tokenizer (.bin) */
  tokenizer: string;
  /** the Hugging Face directory to write (replaced atomically) */
  out: string;
  /** storage type of model.safetensors (default f32) */
  dtype?: 'f32' | 'bf16';
  /** more files for the directory, written in the same atomic save (provenance, licence …) */
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * `oneshot-em convert llama2c`: writes a Hugging Face Llama directory — config.json,
 * model.safetensors with the q/k rows permuted for rotate-half RoPE, tokenizer.json +
 * tokenizer_config.json, generation_config.json — plus the original tokenizer as
 * tokenizer.bin. Returns the config and the files written.
 */
export function convertLlama2c(opts: ConvertLlama2cOptions): {
  config: ModelConfig;
  files: string[];
} {
  const { config, weights } = toHalfRope(llama2cToModel(readLlama2cFile(opts.checkpoint)));
  assertRegularFile(opts.tokenizer, 'a llama2.c tokenizer');
  const tokenizerBytes = new Uint8Array(fs.readFileSync(opts.tokenizer));
  const tokenizer = createLlama2cTokenizer(tokenizerBytes, opts.tokenizer);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(
      `${opts.tokenizer}: tokenizer has ${tokenizer.vocabSize} tokens but ${opts.checkpoint} has vocab_size ${config.vocabSize}`,
    );
  }
  const hf = llama2cTokenizerToHfJson(tokenizer);
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const files = saveHfModel(opts.out, config, weights, {
    dtype: opts.dtype ?? 'f32',
    extraFiles: {
      'tokenizer.json': json(hf.tokenizerJson),
      'tokenizer_config.json': json(hf.tokenizerConfigJson),
      'generation_config.json': json({
        bos_token_id: config.bosTokenId,
        eos_token_id: config.eosTokenIds[0],
      }),
      'tokenizer.bin': tokenizerBytes,
      ...opts.extraFiles,
    },
  });
  return { config, files };
}
