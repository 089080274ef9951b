import { describe, expect, it } from 'vitest';
import { MAX_SAMPLES, optionFields, rangeText } from './option-fields.js';
import { parseTrainOptions } from './options.js';

describe('shared option fields', () => {
  it('accept the documented ranges and nothing outside them', () => {
    const cases: [keyof typeof optionFields, unknown[], unknown[]][] = [
      ['temperature', [0, 0.5, 2], [-1, Number.NaN, Infinity, '1']],
      ['topP', [1e-9, 0.95, 1], [0, 1.5, -0.1]],
      ['topK', [0, 40], [-3, 1.5]],
      ['repetitionPenalty', [1e-3, 1, 1.15], [0, -1]],
      ['maxNewTokens', [1, 3072, 2 ** 24], [0, 1.5, 2 ** 24 + 1]],
      ['samples', [1, MAX_SAMPLES], [0, MAX_SAMPLES + 1, 1e9]],
      ['positiveTemperature', [0.5], [0]],
    ];
    for (const [name, good, bad] of cases) {
      const field = (
        optionFields[name] as () => { safeParse: (v: unknown) => { success: boolean } }
      )();
      for (const v of good) expect(field.safeParse(v).success, `${name} ${v}`).toBe(true);
      for (const v of bad) expect(field.safeParse(v).success, `${name} ${v}`).toBe(false);
    }
  });

  it('say the range and the value; train names a flag as the flag and a file key as the key', () => {
    expect(rangeText({ min: 0, max: 1, minOpen: true })).toBe('a number in (0, 1]');
    expect(() => parseTrainOptions({}, { topP: 1.5 })).toThrow(
      '--top-p: expected a number in (0, 1], got 1.5',
    );
    expect(() => parseTrainOptions({ top_k: -3 }, {}, 'run.yaml')).toThrow(
      'run.yaml: top_k: expected an integer ≥ 0, got -3',
    );
  });
});
