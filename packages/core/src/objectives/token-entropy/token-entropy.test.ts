import { describe, expect, it } from 'vitest';
import { normalAt, RngStream } from '../../sampling/rng.js';
import {
  checkObjectiveGradient,
  GRADIENT_CHECK_SCENARIOS,
  randomObjectiveBatch,
} from '../gradient-check.js';
import { evaluateObjective, objectiveStats } from '../objective.js';
import { vocabStatsReference } from '../../reference/vocab.js';
import { tokenEntropy } from './token-entropy.js';

describe('token-entropy', () => {
  for (const mask of ['paper', 'shifted'] as const) {
    for (const scenario of GRADIENT_CHECK_SCENARIOS) {
      it(`dL/dz matches finite differences (mask ${mask}; ${scenario.name})`, () => {
        const result = checkObjectiveGradient(tokenEntropy, { mask }, scenario.options);
        expect(result.checked).toBeGreaterThan(0);
        expect(result.maxRelativeError).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  // The One-shot EM trainer's formula, computed independently: softmax materialised, the
  // +1e-12 inside the log, masks rebuilt from the ids.
  function referenceEntropy(
    logits: Float64Array,
    ids: Int32Array,
    B: number,
    T: number,
    V: number,
    P: number,
    pad: number,
    temperature: number,
    mask: 'paper' | 'shifted',
  ): number {
    let total = 0;
    let count = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const keep =
          mask === 'paper'
            ? t >= P && ids[b * T + t] !== pad
            : t + 1 < T && t + 1 >= P && ids[b * T + t + 1] !== pad;
        if (!keep) continue;
        const row = Array.from(
          logits.subarray((b * T + t) * V, (b * T + t + 1) * V),
          (z) => z / temperature,
        );
        const max = Math.max(...row);
        const e = row.map((a) => Math.exp(a - max));
        const sum = e.reduce((x, y) => x + y, 0);
        total -= e.reduce((h, v) => h + (v / sum) * Math.log(v / sum + 1e-12), 0);
        count++;
      }
    }
    return total / count;
  }

  for (const padIsEos of [false, true]) {
    for (const mask of ['paper', 'shifted'] as const) {
      it(`equals -Σ p·log(p + 1e-12) averaged over the ${mask} mask (EOS ${padIsEos ? 'as' : 'distinct from'} pad)`, () => {
        const [B, T, V, P] = [4, 9, 50, 4];
        const batch = randomObjectiveBatch({ B, T, V, promptLength: P, seed: 7, padIsEos });
        expect(batch.ids.includes(batch.padId)).toBe(true);
        expect(batch.ids.includes(1)).toBe(true);
        const logits = new Float64Array(B * T * V).map(
          (_, i) => 3 * normalAt(11, RngStream.init, i),
        );
        const params = { mask, temperature: 0.5 };
        const spec = objectiveStats(tokenEntropy, params);
        const stats = vocabStatsReference(logits, batch.targets, B * T, V, spec);
        const { loss, metrics } = evaluateObjective(tokenEntropy, params, stats, batch);
        const want = referenceEntropy(logits, batch.ids, B, T, V, P, batch.padId, 0.5, mask);
        expect(
          Math.abs(loss - want) / want,
          `loss ${loss} vs reference ${want}`,
        ).toBeLessThanOrEqual(1e-6);
        expect(metrics.entropy).toBe(loss);
      });
    }
  }

  it('the two masks differ exactly by the boundary positions', () => {
    const batch = randomObjectiveBatch({ B: 3, T: 8, V: 20, promptLength: 4, seed: 5 });
    const spec = objectiveStats(tokenEntropy, {});
    expect(spec).toEqual({ temperature: 0.5, stats: ['lse', 'ez'] });
    // each completion of length c: paper rows P..P+c-1, shifted rows P-1..P+c-2
    const ref = evaluateObjective(tokenEntropy, { mask: 'paper' }, new Float64Array(48), batch);
    const shifted = evaluateObjective(
      tokenEntropy,
      { mask: 'shifted' },
      new Float64Array(48),
      batch,
    );
    const rows = (c: Float64Array) => [...Array(24).keys()].filter((i) => c[2 * i] !== 0);
    const refRows = rows(ref.coeffs);
    expect(rows(shifted.coeffs)).toEqual(refRows.map((i) => i - 1));
  });
});
