import { describe, expect, it } from 'vitest';
import { normalAt, RngStream } from '../../sampling/rng.js';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from '../gradient-check.js';
import { evaluateObjective, objectiveStats } from '../objective.js';
import { vocabStatsReference } from '../../reference/vocab.js';
import { selfCertainty } from './self-certainty.js';

function lossAt(logits: Float64Array, params: object, seed = 9) {
  const [B, T, V] = [2, 7, 12];
  const batch = randomObjectiveBatch({ B, T, V, promptLength: 3, seed });
  const stats = vocabStatsReference(
    logits,
    batch.targets,
    B * T,
    V,
    objectiveStats(selfCertainty, params),
  );
  return { batch, ...evaluateObjective(selfCertainty, params, stats, batch) };
}

describe('self-certainty', () => {
  for (const scenario of GRADIENT_CHECK_SCENARIOS) {
    it(`dL/dz matches finite differences (${scenario.name})`, () => {
      expect(
        checkObjectiveGradient(selfCertainty, {}, scenario.options).maxRelativeError,
      ).toBeLessThanOrEqual(1e-6);
    });
  }

  it('reports KL(U ‖ p) = -log V - mean_j log p_j over the mask, and the loss is its negative', () => {
    const [T, V] = [7, 12];
    const logits = new Float64Array(2 * T * V).map((_, i) => 1.5 * normalAt(5, RngStream.init, i));
    const { batch, loss, metrics } = lossAt(logits, {});
    let total = 0;
    let count = 0;
    for (let i = 0; i < 2 * T; i++) {
      if (i % T < 3 || batch.ids[i] === batch.padId) continue;
      const row = Array.from(logits.subarray(i * V, (i + 1) * V));
      const logSum = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
      total += -Math.log(V) - row.reduce((s, z) => s + (z - logSum), 0) / V;
      count++;
    }
    expect(Math.abs(metrics.self_certainty - total / count)).toBeLessThan(1e-12);
    expect(loss).toBe(-metrics.self_certainty);
  });

  it('minimising raises confidence: sharper logits give a lower loss', () => {
    const logits = new Float64Array(2 * 7 * 12).map((_, i) => normalAt(6, RngStream.init, i));
    const sharper = logits.map((z) => 3 * z);
    expect(lossAt(sharper, {}).loss).toBeLessThan(lossAt(logits, {}).loss);
  });
});
