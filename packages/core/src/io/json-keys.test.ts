import { describe, expect, it } from 'vitest';
import { snakeCase, snakeCaseKeys } from './json-keys.js';

describe('snake_case keys for the files we write', () => {
  it('converts camelCase keys and leaves snake_case ones', () => {
    expect(
      ['meanMaxProb', 'passK', 'pass1', 'mean_entropy', 'maxNewTokens', 'x', 'tokens_per_s'].map(
        snakeCase,
      ),
    ).toEqual([
      'mean_max_prob',
      'pass_k',
      'pass1',
      'mean_entropy',
      'max_new_tokens',
      'x',
      'tokens_per_s',
    ]);
  });

  it('converts at every depth, through arrays, and keeps the values', () => {
    expect(
      snakeCaseKeys({
        base: { meanEntropy: 1.5, logits: { count: 3, p99: 2 } },
        benchmarks: [{ passK: 0.5, majK: null, name: 'gsm8k' }],
        list: [1, 'twoThree', [{ deepKey: true }]],
      }),
    ).toEqual({
      base: { mean_entropy: 1.5, logits: { count: 3, p99: 2 } },
      benchmarks: [{ pass_k: 0.5, maj_k: null, name: 'gsm8k' }],
      list: [1, 'twoThree', [{ deep_key: true }]],
    });
  });
});
