import { describe, expect, it } from 'vitest';
import { normalAt, RngStream } from '../../sampling/rng.js';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from '../gradient-check.js';
import { evaluateObjective, objectiveStats } from '../objective.js';
import { vocabStatsReference } from '../../reference/vocab.js';
import { nll } from './nll.js';

describe('nll', () => {
  for (const tokens of ['completion', 'all'] as const) {
    for (const scenario of GRADIENT_CHECK_SCENARIOS) {
      it(`dL/dz matches finite differences (tokens ${tokens}; ${scenario.name})`, () => {
        expect(
          checkObjectiveGradient(nll, { tokens }, scenario.options).maxRelativeError,
        ).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  for (const tokens of ['completion', 'all'] as const) {
    it(`is the mean of -log p(next token) over the ${tokens} tokens`, () => {
      const [B, T, V, P] = [3, 9, 20, 4];
      const batch = randomObjectiveBatch({ B, T, V, promptLength: P, seed: 21 });
      const logits = new Float64Array(B * T * V).map((_, i) => 2 * normalAt(22, RngStream.init, i));
      let total = 0;
      let count = 0;
      for (let b = 0; b < B; b++) {
        for (let t = 1; t < T; t++) {
          const y = batch.ids[b * T + t];
          const previous = batch.ids[b * T + t - 1];
          if (y === batch.padId || previous === batch.padId || (tokens === 'completion' && t < P))
            continue;
          const row = logits.subarray((b * T + t - 1) * V, (b * T + t) * V);
          total -= row[y] - Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
          count++;
        }
      }
      const stats = vocabStatsReference(
        logits,
        batch.targets,
        B * T,
        V,
        objectiveStats(nll, { tokens }),
      );
      const { loss } = evaluateObjective(nll, { tokens }, stats, batch);
      expect(Math.abs(loss - total / count)).toBeLessThan(1e-12);
    });
  }
});
