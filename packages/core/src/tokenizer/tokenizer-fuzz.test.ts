import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzSeed, isClearError, mutateBytes, mutateJson, rng } from '../io/fuzz.js';
import { defaultModelDir } from '../io/hf-model.js';
import { createHfTokenizer } from './hf-tokenizer.js';

const CASES = 300;
const CASE_MS = 1000;
const SOURCE = 'model';

describe('tokenizer files fuzz (tokenizer.json, tokenizer_config.json)', () => {
  const dir = defaultModelDir();
  const tokenizerText = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
  const tokenizerJson = JSON.parse(tokenizerText);
  const tokenizerConfig = JSON.parse(
    fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'),
  );

  /** Builds and uses the tokenizer; any failure must be a clear error naming a file of `model`. */
  function check(json: unknown, config: unknown, c: number): boolean {
    const start = performance.now();
    let ok = false;
    try {
      const tok = createHfTokenizer({
        tokenizerJson: json,
        tokenizerConfig: config,
        chatTemplateFile: null,
        source: SOURCE,
      });
      const ids = tok.encode('Once upon a time, Lily saw a cat.', { addSpecialTokens: true });
      expect(
        ids.every((id) => Number.isInteger(id) && id >= 0),
        `case ${c}`,
      ).toBe(true);
      tok.decode(ids);
      ok = true;
    } catch (e) {
      if (!isClearError(e, `${SOURCE}/`))
        throw new Error(`case ${c}: not a clear error: ${(e as Error)?.stack ?? e}`);
    }
    expect(performance.now() - start, `case ${c}`).toBeLessThan(CASE_MS);
    return ok;
  }

  // found by this fuzz: the library sizes its tables by the largest id (103 s, gigabytes)
  it('a vocabulary id of 1e9 is refused before the library allocates for it', () => {
    const json = structuredClone(tokenizerJson);
    const token = Object.keys(json.model.vocab)[300];
    json.model.vocab[token] = 1e9;
    const start = performance.now();
    expect(() =>
      createHfTokenizer({
        tokenizerJson: json,
        tokenizerConfig,
        chatTemplateFile: null,
        source: SOURCE,
      }),
    ).toThrow(
      `${SOURCE}/tokenizer.json: model.vocab[${JSON.stringify(token)}]: expected a token id (an integer in [0, 4194304)), got 1000000000`,
    );
    expect(performance.now() - start).toBeLessThan(CASE_MS);
  });

  // found by this fuzz (other seeds): the library throws TypeErrors from encode on a damaged
  // post_processor; the error now names tokenizer.json
  it('a damaged post_processor fails encoding with an error naming tokenizer.json', () => {
    const json = structuredClone(tokenizerJson);
    json.post_processor.single[0] = 1e9;
    const tok = createHfTokenizer({
      tokenizerJson: json,
      tokenizerConfig,
      chatTemplateFile: null,
      source: SOURCE,
    });
    expect(() => tok.encode('Once', { addSpecialTokens: true })).toThrow(
      /^model\/tokenizer.json: encoding failed: .* \(the file is damaged or of a form this tokenizer does not support\)$/,
    );
  });

  it(`${CASES} mutations of tokenizer_config.json`, () => {
    const r = rng(fuzzSeed(1));
    for (let c = 0; c < CASES; c++) check(tokenizerJson, mutateJson(r, tokenizerConfig), c);
  });

  it(`${CASES} JSON-level mutations of tokenizer.json`, () => {
    const r = rng(fuzzSeed(2));
    let ok = 0;
    for (let c = 0; c < CASES; c++)
      if (check(mutateJson(r, tokenizerJson), tokenizerConfig, c)) ok++;
    expect(ok).toBeGreaterThan(0);
  });

  it(`${CASES} byte-level mutations of tokenizer.json that still parse as JSON`, () => {
    const r = rng(fuzzSeed(3));
    const bytes = new TextEncoder().encode(tokenizerText);
    const decoder = new TextDecoder();
    for (let c = 0; c < CASES; c++) {
      let json: unknown;
      try {
        json = JSON.parse(decoder.decode(mutateBytes(r, bytes)));
      } catch {
        continue; // the JSON reader (load-tokenizer.ts) names the file for these
      }
      check(json, tokenizerConfig, c);
    }
  });
});
