import { readFileSync } from 'node:fs';
import { llama2cTokenizerToHfJson } from '../tokenizer/llama2c-to-hf.js';
import { createLlama2cTokenizer } from '../tokenizer/llama2c.js';
import { saveHfModel } from './hf-model.js';
import { llama2cToModel, parseLlama2c, toHalfRope } from './llama2c.js';

function bytesOf(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: cannot read the ${what} (${(e as Error).message})`);
  }
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/**
 * A llama2.c checkpoint + tokenizer → a Hugging Face Llama directory (config.json,
 * model.safetensors f32, tokenizer.json + tokenizer_config.json, generation_config.json), in one
 * atomic save. wq/wk rows are permuted per head (`toHalfRope`) so that HF's rotate-half RoPE
 * reproduces llama2.c's interleaved RoPE. Returns the files written.
 */
export function convertLlama2c(options: {
  checkpoint: string;
  tokenizer: string;
  out: string;
  extraFiles?: Record<string, string | Uint8Array>;
}): string[] {
  const ckptBytes = bytesOf(options.checkpoint, 'llama2.c checkpoint');
  const tokBytes = bytesOf(options.tokenizer, 'llama2.c tokenizer');
  const { config, weights } = toHalfRope(llama2cToModel(parseLlama2c(ckptBytes, options.checkpoint)));
  const hf = llama2cTokenizerToHfJson(createLlama2cTokenizer(tokBytes, options.tokenizer));
  const vocab = Object.keys((hf.tokenizerJson as { model: { vocab: object } }).model.vocab).length;
  if (vocab !== config.vocabSize) {
    throw new Error(
      `${options.tokenizer}: the tokenizer has ${vocab} tokens but ${options.checkpoint} has vocab_size ${config.vocabSize}`,
    );
  }
  return saveHfModel(options.out, config, weights, {
    dtype: 'f32',
    extraFiles: {
      'tokenizer.json': json(hf.tokenizerJson),
      'tokenizer_config.json': json(hf.tokenizerConfigJson),
      'generation_config.json': json({ bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenIds[0] }),
      ...options.extraFiles,
    },
  });
}
