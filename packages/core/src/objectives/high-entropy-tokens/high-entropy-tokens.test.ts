import { describe, expect, it } from 'vitest';
import { normalAt, RngStream } from '../../sampling/rng.js';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from '../gradient-check.js';
import { evaluateObjective, objectiveStats } from '../objective.js';
import { tokenEntropy } from '../token-entropy/token-entropy.js';
import { vocabStatsReference } from '../../reference/vocab.js';
import { highEntropyTokens } from './high-entropy-tokens.js';

describe('high-entropy-tokens', () => {
  for (const scenario of GRADIENT_CHECK_SCENARIOS) {
    it(`dL/dz matches finite differences (${scenario.name})`, () => {
      expect(
        checkObjectiveGradient(highEntropyTokens, {}, scenario.options).maxRelativeError,
      ).toBeLessThanOrEqual(1e-6);
    });
  }

  const [B, T, V, P] = [4, 10, 25, 4];
  const batch = randomObjectiveBatch({ B, T, V, promptLength: P, seed: 12 });
  const logits = new Float64Array(B * T * V).map((_, i) => 2 * normalAt(13, RngStream.init, i));
  const stats = vocabStatsReference(
    logits,
    batch.targets,
    B * T,
    V,
    objectiveStats(highEntropyTokens, {}),
  );

  it('is the mean entropy of the ceil(q·n) highest-entropy completion positions, which alone get a gradient', () => {
    const entropies: { i: number; h: number }[] = [];
    for (let i = 0; i < B * T; i++) {
      if (i % T < P || batch.ids[i] === batch.padId) continue;
      entropies.push({ i, h: stats[2 * i] - stats[2 * i + 1] });
    }
    const top = entropies.sort((a, b) => b.h - a.h).slice(0, Math.ceil(0.2 * entropies.length));
    const { loss, coeffs, metrics } = evaluateObjective(
      highEntropyTokens,
      { q: 0.2 },
      stats,
      batch,
    );
    expect(loss).toBeCloseTo(top.reduce((s, e) => s + e.h, 0) / top.length, 12);
    const withGradient = [...Array(B * T).keys()].filter((i) => coeffs[2 * i] !== 0);
    expect(withGradient).toEqual(top.map((e) => e.i).sort((a, b) => a - b));
    expect(metrics.entropy).toBeCloseTo(
      entropies.reduce((s, e) => s + e.h, 0) / entropies.length,
      12,
    );
  });

  it('with q = 1 equals token-entropy, value and gradient', () => {
    const all = evaluateObjective(highEntropyTokens, { q: 1 }, stats, batch);
    const te = evaluateObjective(tokenEntropy, {}, stats, batch);
    expect(all.loss).toBeCloseTo(te.loss, 14);
    expect(Array.from(all.coeffs)).toEqual(Array.from(te.coeffs));
  });
});
