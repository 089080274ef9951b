// Picking the tokenizer of a model directory, and checking it against the model's config.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model/config.js';
import { llama2cTokenizerToHfJson } from './llama2c-to-hf.js';
import { loadLlama2cTokenizer, loadTokenizer } from './load-tokenizer.js';
import { validateTokenizer } from './validate-tokenizer.js';

const tok512 = fileURLToPath(new URL('./fixtures/tok512.bin', import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tokenizer-'));
}

describe('loadTokenizer', () => {
  it('falls back to tokenizer.bin (llama2.c) when there is no tokenizer.json', () => {
    const dir = tempDir();
    copyFileSync(tok512, join(dir, 'tokenizer.bin'));
    const tok = loadTokenizer(dir);
    expect(tok.source).toBe(join(dir, 'tokenizer.bin'));
    expect(tok.encode('Once upon a time', { addSpecialTokens: true })).toEqual([
      1, 403, 407, 261, 378,
    ]);
  });

  it('prefers tokenizer.json (here the converted tok512) over tokenizer.bin', () => {
    const dir = tempDir();
    copyFileSync(tok512, join(dir, 'tokenizer.bin'));
    const { tokenizerJson, tokenizerConfigJson } = llama2cTokenizerToHfJson(
      loadLlama2cTokenizer(tok512),
    );
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson));
    const tok = loadTokenizer(dir);
    expect(tok.source).toBe(`${dir}/tokenizer.json`);
    expect(tok.encode('Once upon a time', { addSpecialTokens: true })).toEqual([
      1, 403, 407, 261, 378,
    ]);
  });

  it('fills special tokens missing from tokenizer_config.json from special_tokens_map.json', () => {
    const dir = tempDir();
    const { tokenizerJson, tokenizerConfigJson } = llama2cTokenizerToHfJson(
      loadLlama2cTokenizer(tok512),
    );
    const { eos_token: _, ...withoutEos } = tokenizerConfigJson;
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(withoutEos));
    writeFileSync(
      join(dir, 'special_tokens_map.json'),
      JSON.stringify({
        eos_token: { content: '</s>', lstrip: false },
        pad_token: '<s>',
        bos_token: '</s>',
      }),
    );
    const tok = loadTokenizer(dir);
    expect(tok.eosIds).toEqual([2]); // from the map
    expect(tok.bosId).toBe(1); // tokenizer_config.json wins
    expect(tok.padId).toBeNull(); // pad_token: null in tokenizer_config.json wins too
  });

  it('names what it looked for when the directory has no tokenizer', () => {
    const dir = tempDir();
    expect(() => loadTokenizer(dir)).toThrow(
      /no tokenizer found; expected tokenizer.json .* or tokenizer.bin/,
    );
  });

  it('names the file that is not JSON', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), '{ not json');
    expect(() => loadTokenizer(dir)).toThrow(new RegExp(`${dir}/tokenizer.json: not valid JSON`));
  });
});

describe('validateTokenizer', () => {
  const tok = loadLlama2cTokenizer(tok512);
  const config = {
    vocabSize: 512,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
  } as ModelConfig;

  it('accepts the stories260K pair', () => {
    expect(() => validateTokenizer(tok, config, 'model')).not.toThrow();
    // a model vocabulary padded past the tokenizer's is fine
    expect(() => validateTokenizer(tok, { ...config, vocabSize: 640 }, 'model')).not.toThrow();
  });

  it('rejects a tokenizer with more ids than the model has rows', () => {
    expect(() => validateTokenizer(tok, { ...config, vocabSize: 256 }, 'model')).toThrow(
      /tok512.bin: the tokenizer has 512 ids but model\/config.json has vocab_size 256/,
    );
  });

  it('rejects BOS/EOS ids that disagree or lie outside the tokenizer', () => {
    expect(() => validateTokenizer(tok, { ...config, bosTokenId: 5 }, 'model')).toThrow(
      /model\/config.json: bos_token_id 5 but .*tok512.bin has BOS 1/,
    );
    expect(() => validateTokenizer(tok, { ...config, eosTokenIds: [7, 8] }, 'model')).toThrow(
      /model\/config.json: eos_token_id \[7,8\] shares no id with the EOS of .*tok512.bin \(\[2\]\)/,
    );
    expect(() =>
      validateTokenizer(tok, { ...config, vocabSize: 600, eosTokenIds: [2, 599] }, 'model'),
    ).toThrow(/model\/config.json: eos_token_id 599 is outside the vocabulary/);
  });
});
