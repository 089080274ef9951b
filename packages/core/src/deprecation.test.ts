import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { randomObjectiveBatch } from './objectives/gradient-check.js';
import {
  defineObjective,
  evaluateObjective,
  parseObjectiveParams,
} from './objectives/objective.js';
import { completionMask, keyMask } from './objectives/objective-batch.js';
import { tokenEntropy } from './objectives/token-entropy/token-entropy.js';
import { parseTrainOptions } from './train/options.js';

/**
 * Names renamed in 0.1 (docs/architecture.md#glossary) are accepted until 0.2 wherever a user
 * or a plugin may write them, each with one deprecation line per process.
 */
const warnings: string[] = [];
function captureWarnings() {
  warnings.length = 0;
  vi.spyOn(console, 'warn').mockImplementation((m: string) => void warnings.push(m));
}
afterEach(() => vi.restoreAllMocks());

const batch = randomObjectiveBatch({ B: 3, T: 7, V: 11, promptLength: 3, seed: 5 });

describe("the mask convention 'reference' is 'paper'", () => {
  it('as the train option (flag or config key), with one deprecation line', () => {
    captureWarnings();
    expect(parseTrainOptions({ mask: 'reference' }, {}).mask).toBe('paper');
    expect(parseTrainOptions({}, { mask: 'reference' }).mask).toBe('paper');
    expect(parseTrainOptions({}, {}).mask).toBe('paper');
    expect(warnings).toEqual([
      "oneshot-em: mask convention 'reference' is deprecated, use 'paper' ('reference' is the CPU backend); the old name is accepted until 0.2",
    ]);
  });

  it("as a built-in objective's parameter (token-entropy:mask=reference)", () => {
    expect(parseObjectiveParams(tokenEntropy, { mask: 'reference' })).toEqual({
      temperature: 0.5,
      mask: 'paper',
    });
    expect(() => parseObjectiveParams(tokenEntropy, { mask: 'sideways' })).toThrow(
      /'paper'.*'shifted'/,
    );
  });

  it("in a plugin's ctx.completionMask('reference')", () => {
    expect(Array.from(completionMask(batch, 'reference'))).toEqual(
      Array.from(completionMask(batch, 'paper')),
    );
    expect(completionMask(batch, 'paper')).not.toEqual(completionMask(batch, 'shifted'));
  });
});

describe('ctx.attentionMask is ctx.keyMask', () => {
  it('reads the same mask, with one deprecation line', () => {
    captureWarnings();
    const seen: Float64Array[] = [];
    const probe = defineObjective({
      name: 'mask-probe',
      description: 'reads both spellings of the key mask',
      params: z.object({}),
      stats: () => ({ temperature: 1, stats: ['lse'] }),
      loss: (ctx) => {
        seen.push(Float64Array.from(ctx.keyMask), Float64Array.from(ctx.attentionMask));
        return ctx.ops.maskedMean(ctx.stat('lse'), ctx.keyMask);
      },
    });
    evaluateObjective(probe, {}, new Float64Array(batch.B * batch.T), batch);
    expect(Array.from(seen[0])).toEqual(Array.from(keyMask(batch)));
    expect(Array.from(seen[1])).toEqual(Array.from(seen[0]));
    expect(warnings).toEqual([
      'oneshot-em: ctx.attentionMask is deprecated, use ctx.keyMask (one name for the key mask); the old name is accepted until 0.2',
    ]);
  });
});
