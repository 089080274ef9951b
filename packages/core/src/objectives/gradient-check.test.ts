import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkObjectiveGradient } from './gradient-check.js';
import { defineObjective } from './objective.js';

describe('checkObjectiveGradient', () => {
  // stopGradient hides part of the loss from the contract gradient, so finite differences of
  // the full loss must disagree: the check has to catch it.
  const wrong = defineObjective({
    name: 'wrong-gradient',
    description: 'entropy whose ez term is cut out of the gradient',
    params: z.object({}),
    stats: () => ({ temperature: 1, stats: ['lse', 'ez'] }),
    loss(ctx) {
      const { maskedMean, stopGradient, sub } = ctx.ops;
      return maskedMean(
        sub(ctx.stat('lse'), stopGradient(ctx.stat('ez'))),
        ctx.completionMask('paper'),
      );
    },
  });

  it('fails, naming the first mismatching coordinates, when the gradient is wrong', () => {
    expect(() => checkObjectiveGradient(wrong, {}, { vocab: 8, tokens: 5 })).toThrow(
      /wrong-gradient: dL\/dz relative error .* > 1e-6[\s\S]*dz\[\d+, \d+\]: contract/,
    );
    const result = checkObjectiveGradient(wrong, {}, { vocab: 8, tokens: 5, assert: false });
    expect(result.maxRelativeError).toBeGreaterThan(0.1);
  });

  it('reports the loss, metrics and the number of checked coordinates', () => {
    const right = defineObjective({
      ...wrong,
      name: 'right-gradient',
      loss: (ctx) =>
        ctx.ops.maskedMean(
          ctx.ops.sub(ctx.stat('lse'), ctx.stat('ez')),
          ctx.completionMask('paper'),
        ),
    });
    const result = checkObjectiveGradient(right, {}, { vocab: 8, tokens: 5, sequences: 2 });
    expect(result.checked).toBe(2 * 5 * 8);
    expect(result.maxRelativeError).toBeLessThan(1e-9);
    expect(result.loss).toBeGreaterThan(0);
  });
});
