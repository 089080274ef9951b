import { describe, expect, it } from 'vitest';
import { normalAt, RngStream } from '../../sampling/rng.js';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from '../gradient-check.js';
import { evaluateObjective, objectiveStats } from '../objective.js';
import { vocabStatsReference } from '../../reference/vocab.js';
import { sequenceNll } from './sequence-nll.js';

describe('sequence-nll', () => {
  for (const scenario of GRADIENT_CHECK_SCENARIOS) {
    it(`dL/dz matches finite differences (${scenario.name})`, () => {
      expect(
        checkObjectiveGradient(sequenceNll, {}, scenario.options).maxRelativeError,
      ).toBeLessThanOrEqual(1e-6);
    });
  }

  it('is the mean over sequences of -Σ log p(y_t) of the completion tokens', () => {
    const [B, T, V, P] = [3, 8, 30, 3];
    const batch = randomObjectiveBatch({ B, T, V, promptLength: P, seed: 9 });
    const logits = new Float64Array(B * T * V).map((_, i) => 2 * normalAt(3, RngStream.init, i));
    let want = 0;
    for (let b = 0; b < B; b++) {
      // the completion tokens y = ids[b, t] for t ≥ P, predicted by the logits at t − 1
      for (let t = P; t < T; t++) {
        const y = batch.ids[b * T + t];
        if (y === batch.padId) continue;
        const row = logits.subarray((b * T + t - 1) * V, (b * T + t) * V);
        const logSum = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
        want -= row[y] - logSum;
      }
    }
    want /= B;
    const spec = objectiveStats(sequenceNll, {});
    const stats = vocabStatsReference(logits, batch.targets, B * T, V, spec);
    const { loss, metrics } = evaluateObjective(sequenceNll, {}, stats, batch);
    expect(Math.abs(loss - want) / want).toBeLessThan(1e-12);
    expect(metrics.sequence_nll).toBe(loss);
  });
});
