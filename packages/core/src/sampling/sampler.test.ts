import { describe, expect, it } from 'vitest';
import type { SamplingParams } from '../backend/tensor-ops.js';
import { sampleRow } from './sampler.js';

const none = [0, 0, 0, 0];
const params = (p: Partial<SamplingParams>): SamplingParams => ({
  temperature: 1,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  ...p,
});
/** logits whose softmax is exactly [0.5, 0.25, 0.25] */
const halfQuarterQuarter = [Math.LN2, 0, 0];

describe('sampleRow (CPU reference sampler)', () => {
  it('greedy takes the argmax, ties to the lower id', () => {
    expect(sampleRow([3, 5, 5, 1], none, 0.7, params({ temperature: 0 }))).toBe(1);
    expect(sampleRow([-1, -1, -2], [0, 0, 0], 0.1, params({ temperature: 0 }))).toBe(0);
  });

  it('repetition penalty divides positive and multiplies negative logits of present tokens', () => {
    // [2, 1.5, 1, 0.5] with tokens 0 and 3 present, penalty 2 → [1, 1.5, 1, 0.25]
    expect(
      sampleRow(
        [2, 1.5, 1, 0.5],
        [1, 0, 0, 1],
        0,
        params({ temperature: 0, repetitionPenalty: 2 }),
      ),
    ).toBe(1);
    // [-1, -1.5] with token 0 present, penalty 2 → [-2, -1.5]: the penalty flips the argmax
    expect(sampleRow([-1, -1.5], [1, 0], 0, params({ temperature: 0, repetitionPenalty: 2 }))).toBe(
      1,
    );
    expect(sampleRow([-1, -1.5], [0, 0], 0, params({ temperature: 0, repetitionPenalty: 2 }))).toBe(
      0,
    );
  });

  it('draws by inverse CDF in descending-probability order', () => {
    const p = params({});
    expect(sampleRow(halfQuarterQuarter, none, 0, p)).toBe(0);
    expect(sampleRow(halfQuarterQuarter, none, 0.4999, p)).toBe(0);
    expect(sampleRow(halfQuarterQuarter, none, 0.5, p)).toBe(1);
    expect(sampleRow(halfQuarterQuarter, none, 0.75, p)).toBe(2);
    expect(sampleRow(halfQuarterQuarter, none, 0.9999, p)).toBe(2);
    // order is by probability, not id: token 2 is the most likely here
    expect(sampleRow([0, 0, Math.LN2], none, 0.1, p)).toBe(2);
    expect(sampleRow([0, 0, Math.LN2], none, 0.6, p)).toBe(0);
  });

  it('top-p keeps the shortest prefix reaching top_p (boundary included), ties by lower id', () => {
    // cumulative [0.5, 0.75, 1]: top_p 0.5 keeps token 0 only; 0.75 keeps 0 and 1; 0.76 keeps all
    expect(sampleRow(halfQuarterQuarter, none, 0.99, params({ topP: 0.5 }))).toBe(0);
    expect(sampleRow(halfQuarterQuarter, none, 0.99, params({ topP: 0.75 }))).toBe(1);
    expect(sampleRow(halfQuarterQuarter, none, 0.99, params({ topP: 0.76 }))).toBe(2);
    // the kept mass is renormalised: u 0.6 of {0.5, 0.25} lands past 0.5 / 0.75
    expect(sampleRow(halfQuarterQuarter, none, 0.6, params({ topP: 0.75 }))).toBe(0);
    expect(sampleRow(halfQuarterQuarter, none, 0.7, params({ topP: 0.75 }))).toBe(1);
    // always at least one token
    expect(sampleRow(halfQuarterQuarter, none, 0.99, params({ topP: 0.01 }))).toBe(0);
  });

  it('top-k keeps the k most likely tokens', () => {
    const seen = new Set<number>();
    for (let u = 0; u < 1; u += 0.01)
      seen.add(sampleRow([1, 2, 3, 4], none, u, params({ topK: 2 })));
    expect([...seen].sort()).toEqual([2, 3]);
  });

  it('temperature sharpens before the draw', () => {
    // T = 0.5 doubles the logits: [2 ln 2, 0, 0] → p = [4/6, 1/6, 1/6]
    const p = params({ temperature: 0.5 });
    expect(sampleRow(halfQuarterQuarter, none, 0.66, p)).toBe(0);
    expect(sampleRow(halfQuarterQuarter, none, 0.67, p)).toBe(1);
    expect(sampleRow(halfQuarterQuarter, none, 0.84, p)).toBe(2);
  });

  it('min-p keeps p ≥ min_p · max p after the temperature (HF MinPLogitsWarper), as a distribution', () => {
    // Independent computation in HF's order: softmax(z / T) → top-k → renormalise → drop
    // p < min_p · max p → renormalise. The sampler's draws over a fine grid of uniforms must
    // give that distribution to within one grid step per kept token.
    const V = 40;
    const logits = Array.from({ length: V }, (_, j) => Math.sin(j * 12.9898) * 4);
    const hfDistribution = (T: number, topK: number, minP: number): number[] => {
      const e = logits.map((z) => Math.exp(z / T));
      let kept = e.map((_, j) => j);
      if (topK > 0) kept = [...kept].sort((a, b) => e[b] - e[a]).slice(0, topK);
      const mass = kept.reduce((s, j) => s + e[j], 0);
      const p = new Map(kept.map((j) => [j, e[j] / mass]));
      const top = Math.max(...p.values());
      const survivors = [...p].filter(([, q]) => q >= minP * top);
      const left = survivors.reduce((s, [, q]) => s + q, 0);
      const out = new Array(V).fill(0);
      for (const [j, q] of survivors) out[j] = q / left;
      return out;
    };
    const N = 20_000;
    for (const [T, topK, minP] of [
      [1, 0, 0.1],
      [0.7, 0, 0.05],
      [1.5, 0, 0.3],
      [1, 6, 0.2],
      [1, 0, 1],
    ]) {
      const want = hfDistribution(T, topK, minP);
      const counts = new Array(V).fill(0);
      const p = params({ temperature: T, topK, minP });
      for (let i = 0; i < N; i++)
        counts[sampleRow(logits, new Array(V).fill(0), (i + 0.5) / N, p)]++;
      const keptCount = want.filter((q) => q > 0).length;
      expect(keptCount, `T ${T} top-k ${topK} min-p ${minP}`).toBeLessThan(V);
      for (let j = 0; j < V; j++) {
        if (want[j] === 0) expect(counts[j], `token ${j} is below min-p`).toBe(0);
        else expect(Math.abs(counts[j] / N - want[j])).toBeLessThanOrEqual(2 / N);
      }
    }
  });

  it('min-p 0 (or absent) keeps every token; greedy ignores it', () => {
    // token 3 has e^-1 ≈ 0.37 of the top probability: min-p 0.5 drops it, 0 and absent keep it
    const drawn = (minP?: number) => {
      const seen = new Set<number>();
      for (let u = 0.005; u < 1; u += 0.01)
        seen.add(sampleRow([0, 0, 0, -1], none, u, params({ minP })));
      return [...seen].sort();
    };
    expect(drawn(0)).toEqual([0, 1, 2, 3]);
    expect(drawn(undefined)).toEqual([0, 1, 2, 3]);
    expect(drawn(0.5)).toEqual([0, 1, 2]);
    expect(sampleRow([1, 3, 2], [0, 0, 0], 0.9, params({ temperature: 0, minP: 0.99 }))).toBe(1);
  });
});
