import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FALLBACK_MAX_NEW_TOKENS, resolveGeneration } from './generation-config.js';

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'generation_config.json'), 'utf8'),
);
const NAME = 'm/generation_config.json';

describe('resolveGeneration (transformers: flag, then generation_config.json, then defaults)', () => {
  it("takes every setting from the model's generation_config.json", () => {
    expect(resolveGeneration(fixture, NAME, {}, 5)).toEqual({
      doSample: true,
      sampling: { temperature: 0.6, topP: 0.85, topK: 30, minP: 0.02, repetitionPenalty: 1.07 },
      maxNewTokens: 96,
    });
  });

  it('a flag overrides its field only', () => {
    const r = resolveGeneration(fixture, NAME, { topK: 0, maxNewTokens: 8 }, 5);
    expect(r.sampling).toEqual({
      temperature: 0.6,
      topP: 0.85,
      topK: 0,
      minP: 0.02,
      repetitionPenalty: 1.07,
    });
    expect(r.maxNewTokens).toBe(8);
  });

  it('--greedy keeps the penalty the file asks for and drops the sampling warpers', () => {
    expect(resolveGeneration(fixture, NAME, { greedy: true }, 5).sampling).toEqual({
      temperature: 0,
      topP: 1,
      topK: 0,
      minP: 0,
      repetitionPenalty: 1.07,
    });
  });

  it('no file (or an empty one): greedy without a repetition penalty, as transformers', () => {
    for (const file of [undefined, {}]) {
      expect(resolveGeneration(file, NAME, {}, 5)).toEqual({
        doSample: false,
        sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1 },
        maxNewTokens: FALLBACK_MAX_NEW_TOKENS,
      });
    }
    expect(resolveGeneration({}, NAME, { greedy: true }, 5).sampling.repetitionPenalty).toBe(1);
    expect(
      resolveGeneration({}, NAME, { greedy: true, repetitionPenalty: 1.3 }, 5).sampling
        .repetitionPenalty,
    ).toBe(1.3);
  });

  it("do_sample with nothing else: transformers' T 1, top-p 1, top-k 50, no min-p", () => {
    expect(resolveGeneration({ do_sample: true }, NAME, {}, 5).sampling).toEqual({
      temperature: 1,
      topP: 1,
      topK: 50,
      minP: 0,
      repetitionPenalty: 1,
    });
    // --do-sample on a file without do_sample
    expect(resolveGeneration({}, NAME, { doSample: true }, 5).sampling.topK).toBe(50);
  });

  it('null is transformers’ None: that warper is off', () => {
    const r = resolveGeneration({ do_sample: true, top_k: null, temperature: null }, NAME, {}, 5);
    expect(r.sampling).toEqual({
      temperature: 1,
      topP: 1,
      topK: 0,
      minP: 0,
      repetitionPenalty: 1,
    });
  });

  it('a sampling flag turns sampling on unless --greedy; --temperature 0 is greedy', () => {
    const file = { do_sample: false, top_p: 0.9 };
    expect(resolveGeneration(file, NAME, { temperature: 0.8 }, 5)).toMatchObject({
      doSample: true,
      sampling: { temperature: 0.8, topP: 0.9, topK: 50 },
    });
    expect(resolveGeneration(file, NAME, { minP: 0.1 }, 5).sampling.minP).toBe(0.1);
    expect(resolveGeneration(fixture, NAME, { temperature: 0 }, 5).doSample).toBe(false);
    expect(resolveGeneration(file, NAME, { greedy: true, topP: 0.5 }, 5).doSample).toBe(false);
    expect(() => resolveGeneration(file, NAME, { greedy: true, doSample: true }, 5)).toThrow(
      '--greedy and --do-sample',
    );
  });

  it('max_length counts the prompt, as in transformers', () => {
    expect(resolveGeneration({ max_length: 40 }, NAME, {}, 12).maxNewTokens).toBe(28);
    expect(() => resolveGeneration({ max_length: 10 }, NAME, {}, 12)).toThrow(
      `${NAME}: max_length 10 leaves no room after the prompt (12 tokens); give --max-new-tokens`,
    );
    // max_new_tokens wins over max_length (transformers' precedence)
    expect(
      resolveGeneration({ max_length: 40, max_new_tokens: 3 }, NAME, {}, 12).maxNewTokens,
    ).toBe(3);
  });

  it('a bad value names the file and the field', () => {
    expect(() => resolveGeneration({ do_sample: true, top_p: 1.5 }, NAME, {}, 5)).toThrow(
      `${NAME}: top_p: expected a number in (0, 1], got 1.5`,
    );
    expect(() => resolveGeneration({ do_sample: 'yes' }, NAME, {}, 5)).toThrow(
      `${NAME}: do_sample: expected true or false, got "yes"`,
    );
    expect(() => resolveGeneration([], NAME, {}, 5)).toThrow(
      `${NAME}: expected a JSON object of generation settings`,
    );
    // a flag replaces the bad field, so it is never read
    expect(
      resolveGeneration({ do_sample: true, top_p: 1.5 }, NAME, { topP: 0.5 }, 5).sampling.topP,
    ).toBe(0.5);
  });
});
