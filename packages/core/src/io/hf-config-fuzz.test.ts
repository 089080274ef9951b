import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paramSpecs } from '../model/params.js';
import { fuzzSeed, isClearError, mutateBytes, mutateJson, rng } from './fuzz.js';
import { parseModelConfig } from './hf-config.js';
import { readJsonFile } from './hf-config-file.js';
import { defaultModelDir } from './hf-model.js';
import { SIZE_LIMITS } from './size-limits.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-config-fuzz-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const CASES = 800;
const CASE_MS = 200;
const FILE = 'config.json';

// a Qwen2.5-Math-1.5B-like config beside the embedded llama, so both schemas are fuzzed
const qwen = {
  model_type: 'qwen2',
  hidden_size: 1536,
  intermediate_size: 8960,
  num_hidden_layers: 28,
  num_attention_heads: 12,
  num_key_value_heads: 2,
  max_position_embeddings: 4096,
  vocab_size: 151936,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151643,
  torch_dtype: 'bfloat16',
};

/** Parses or refuses clearly; an accepted config has every size within SIZE_LIMITS. */
function check(json: unknown, c: number): boolean {
  const start = performance.now();
  let accepted = false;
  try {
    const config = parseModelConfig(json, FILE);
    for (const v of [config.numLayers, config.hiddenSize, config.numHeads, config.headDim]) {
      expect(Number.isInteger(v) && v >= 1, `case ${c}`).toBe(true);
    }
    expect(config.numLayers).toBeLessThanOrEqual(SIZE_LIMITS.num_hidden_layers);
    expect(config.vocabSize).toBeLessThanOrEqual(SIZE_LIMITS.vocab_size);
    expect(config.maxPositionEmbeddings).toBeLessThanOrEqual(SIZE_LIMITS.max_position_embeddings);
    expect(config.headDim).toBeLessThanOrEqual(SIZE_LIMITS.head_dim);
    // the parameter table of any accepted config is cheap to build (no allocation of weights)
    paramSpecs(config);
    accepted = true;
  } catch (e) {
    if (!isClearError(e, `${FILE}: `))
      throw new Error(`case ${c}: not a clear error: ${(e as Error)?.stack ?? e}`);
  }
  expect(performance.now() - start, `case ${c}`).toBeLessThan(CASE_MS);
  return accepted;
}

describe('config.json fuzz', () => {
  const llama = JSON.parse(fs.readFileSync(path.join(defaultModelDir(), FILE), 'utf8'));

  it(`${CASES} JSON-level mutations (values replaced, deleted, swapped) parse or are refused by field`, () => {
    const r = rng(fuzzSeed(7));
    let accepted = 0;
    for (let c = 0; c < CASES; c++) {
      if (check(mutateJson(r, r() < 0.5 ? llama : qwen), c)) accepted++;
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`${CASES / 2} byte-level mutations of the file are read or refused naming the file`, () => {
    const r = rng(fuzzSeed(8));
    const bytes = new TextEncoder().encode(JSON.stringify(qwen, null, 2));
    const file = path.join(root, FILE);
    for (let c = 0; c < CASES / 2; c++) {
      fs.writeFileSync(file, mutateBytes(r, bytes));
      let json: unknown;
      try {
        json = readJsonFile(file);
      } catch (e) {
        if (!isClearError(e, `${file}: `)) throw new Error(`case ${c}: ${(e as Error)?.stack}`);
        continue;
      }
      check(json, c);
    }
  });
});
