import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { randomObjectiveBatch } from './gradient-check.js';
import { highEntropyTokens } from './high-entropy-tokens/high-entropy-tokens.js';
import { nll } from './nll/nll.js';
import {
  coefficientsBeforeStats,
  defineObjective,
  evaluateObjective,
  type Objective,
  objectiveStats,
  sameCoefficients,
} from './objective.js';
import { selfCertainty } from './self-certainty/self-certainty.js';
import { sequenceNll } from './sequence-nll/sequence-nll.js';
import { tokenEntropy } from './token-entropy/token-entropy.js';

const renyi2 = defineObjective({
  name: 'renyi-2',
  description: 'collision entropy',
  params: z.object({}),
  stats: () => ({ temperature: 0.5, stats: ['s2'] }),
  loss: (ctx) =>
    ctx.ops.maskedMean(ctx.ops.neg(ctx.ops.log(ctx.stat('s2'))), ctx.completionMask('paper')),
});

const batch = randomObjectiveBatch({ B: 3, T: 9, V: 50, promptLength: 3, seed: 11 });

/** Statistics unlike the probes': spread over [−20, 20] (lse, ez, zy, mz) or (0, 1] (s2). */
function realisticStats(objective: Objective, seed: number): Float64Array {
  const { stats } = objectiveStats(objective, {});
  const n = batch.B * batch.T;
  const out = new Float64Array(n * stats.length);
  for (let i = 0; i < out.length; i++) {
    const u = (Math.sin(seed * 7919 + i * 104729) + 1) / 2;
    out[i] = stats[i % stats.length] === 's2' ? 0.01 + 0.99 * u : 40 * u - 20;
  }
  return out;
}

describe('coefficientsBeforeStats: dL/dstat known before the statistics', () => {
  const linear = [tokenEntropy, selfCertainty, nll, sequenceNll] as Objective[];
  for (const objective of linear) {
    it(`${objective.name} is linear in its statistics: the early coefficients are the real ones`, () => {
      const early = coefficientsBeforeStats(objective, {}, batch);
      expect(early, 'linear objectives get early coefficients').not.toBeNull();
      for (const seed of [1, 2, 3]) {
        const real = evaluateObjective(objective, {}, realisticStats(objective, seed), batch);
        expect(sameCoefficients(real.coeffs, early as Float64Array)).toBe(true);
      }
    });
  }

  for (const objective of [highEntropyTokens, renyi2] as Objective[]) {
    it(`${objective.name} needs the statistics first (top-q selection, log): null`, () => {
      expect(coefficientsBeforeStats(objective, {}, batch)).toBeNull();
      // and indeed its coefficients move with the statistics
      const a = evaluateObjective(objective, {}, realisticStats(objective, 1), batch).coeffs;
      const b = evaluateObjective(objective, {}, realisticStats(objective, 2), batch).coeffs;
      expect(sameCoefficients(a, b)).toBe(false);
    });
  }

  it('sameCoefficients: exact, and NaN never matches', () => {
    expect(sameCoefficients([1, 2], [1, 2])).toBe(true);
    expect(sameCoefficients([1, 2], [1, 2 + 1e-15])).toBe(false);
    expect(sameCoefficients([Number.NaN], [Number.NaN])).toBe(false);
    expect(sameCoefficients([1], [1, 2])).toBe(false);
  });
});
