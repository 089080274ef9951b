import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from './gradient-check.js';
import {
  defineObjective,
  evaluateObjective,
  type Objective,
  objectiveStats,
  parseObjectiveParams,
} from './objective.js';

// The example of README.md: a plugin over s2, which no built-in uses.
const renyi2 = defineObjective({
  name: 'renyi-2',
  description: 'Mean collision entropy −log Σ p² over completion positions',
  params: z.object({
    temperature: z.coerce
      .number()
      .gt(0)
      .default(0.5)
      .describe('softmax temperature, > 0 (default 0.5)'),
  }),
  stats: (p) => ({ temperature: p.temperature, stats: ['s2'] }),
  loss: (ctx) =>
    ctx.ops.maskedMean(ctx.ops.neg(ctx.ops.log(ctx.stat('s2'))), ctx.completionMask('paper')),
});

// Everything at once: all five statistics, per-sequence sums and a quantile.
const mixture = defineObjective({
  name: 'mixture',
  description: 'uses every statistic',
  params: z.object({}),
  stats: () => ({ temperature: 0.8, stats: ['mz', 's2', 'zy', 'ez', 'lse'] }),
  loss(ctx) {
    const { add, log, maskedMean, mean, mul, perSequenceSum, quantile, sub } = ctx.ops;
    const mask = ctx.completionMask('shifted');
    const entropy = sub(ctx.stat('lse'), ctx.stat('ez'));
    const certainty = sub(ctx.stat('lse'), ctx.stat('mz'));
    const nll = sub(ctx.stat('lse'), ctx.stat('zy'));
    const perSequence = mean(perSequenceSum(mul(nll, 0.1), ctx.seqIds, ctx.numSequences, mask));
    return add(
      add(maskedMean(mul(entropy, log(ctx.stat('s2'))), mask), maskedMean(certainty, mask)),
      add(perSequence, quantile(entropy, mask, 0.7)),
    );
  },
});

describe('objective contract', () => {
  for (const objective of [renyi2, mixture] as Objective[]) {
    for (const scenario of GRADIENT_CHECK_SCENARIOS) {
      it(`${objective.name}: dL/dz matches finite differences (${scenario.name})`, () => {
        expect(
          checkObjectiveGradient(objective, {}, scenario.options).maxRelativeError,
        ).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  const batch = randomObjectiveBatch({ B: 2, T: 5, V: 8, promptLength: 2, seed: 1 });

  it('rejects a loss that reads an undeclared statistic, a wrong statValues size and a vector loss', () => {
    const sneaky = defineObjective({
      ...renyi2,
      name: 'sneaky',
      loss: (ctx) => ctx.ops.mean(ctx.stat('lse')),
    });
    expect(() => evaluateObjective(sneaky, {}, new Float64Array(10), batch)).toThrow(
      /objective 'sneaky': loss reads 'lse' but stats declares only s2/,
    );
    expect(() => evaluateObjective(renyi2, {}, new Float64Array(9), batch)).toThrow(
      /statValues has 9 entries; expected N·S = 10·1 \(s2\)/,
    );
    const vector = defineObjective({ ...renyi2, name: 'vector', loss: (ctx) => ctx.stat('s2') });
    expect(() => evaluateObjective(vector, {}, new Float64Array(10).fill(0.5), batch)).toThrow(
      /loss must return a scalar Var/,
    );
  });

  it('validates names, statistics and parameters', () => {
    expect(() => defineObjective({ ...renyi2, name: 'Renyi2' })).toThrow(/expected kebab-case/);
    const twice = defineObjective({
      ...renyi2,
      name: 'twice',
      stats: () => ({ temperature: 1, stats: ['s2', 's2'] }),
    });
    expect(() => objectiveStats(twice)).toThrow(/lists a statistic twice/);
    expect(parseObjectiveParams(renyi2, { temperature: '2' })).toEqual({ temperature: 2 });
    expect(() => parseObjectiveParams(renyi2, { temperature: 'hot' })).toThrow(
      /objective 'renyi-2': parameter 'temperature' \(given "hot"\): .*; temperature: softmax temperature, > 0 \(default 0.5\)/,
    );
  });
});
