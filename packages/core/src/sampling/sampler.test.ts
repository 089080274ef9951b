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
});
