import { describe, expect, it } from 'vitest';
import { type LrSchedule, lrMultiplier, resolveWarmupSteps, scheduledLr } from './lr-schedule.js';

// Expected values are closed forms worked out by hand for max_steps 10, warmup 2 (the
// multiplier transformers' get_scheduler lambdas give after `done` updates), not the formulas
// of lr-schedule.ts re-evaluated.
const at = (type: LrSchedule['type'], warmupSteps = 2, maxSteps = 10) => ({
  type,
  warmupSteps,
  maxSteps,
});

describe('lrMultiplier (transformers get_scheduler semantics)', () => {
  it('constant is 1 everywhere and ignores warmup', () => {
    for (const done of [0, 1, 5, 9, 10]) expect(lrMultiplier(at('constant'), done)).toBe(1);
  });

  it('warmup rises linearly from 0: 0, 1/2, then the schedule', () => {
    for (const type of ['constant_with_warmup', 'linear', 'cosine'] as const) {
      expect(lrMultiplier(at(type), 0), type).toBe(0);
      expect(lrMultiplier(at(type), 1), type).toBe(0.5);
      expect(lrMultiplier(at(type), 2), type).toBe(1);
    }
    expect(lrMultiplier(at('constant_with_warmup'), 9)).toBe(1);
  });

  it('linear decays from 1 after warmup to 0 at max_steps: 8 updates, 1/8 each', () => {
    const expected: [number, number][] = [
      [3, 7 / 8],
      [5, 5 / 8],
      [9, 1 / 8],
      [10, 0],
      [12, 0], // past max_steps: clamped
    ];
    for (const [done, m] of expected) expect(lrMultiplier(at('linear'), done), `${done}`).toBe(m);
  });

  it('cosine: ½(1 + cos πp) with p = (done − 2)/8: 1, (2+√2)/4, ½, (2−√2)/4, (1 − cos π/8)/2, 0', () => {
    const expected: [number, number][] = [
      [2, 1],
      [4, (2 + Math.SQRT2) / 4],
      [6, 0.5],
      [8, (2 - Math.SQRT2) / 4],
      [9, (1 - Math.sqrt((1 + Math.SQRT1_2) / 2)) / 2], // cos(π/8) = √((1 + cos π/4)/2)
      [10, 0],
    ];
    for (const [done, m] of expected)
      expect(lrMultiplier(at('cosine'), done), `${done}`).toBeCloseTo(m, 14);
  });

  it('no warmup: linear starts at the full rate; warmup ≥ max_steps never divides by 0', () => {
    expect(lrMultiplier(at('linear', 0, 4), 0)).toBe(1);
    expect(lrMultiplier(at('linear', 0, 4), 1)).toBe(0.75);
    expect(lrMultiplier(at('cosine', 0, 4), 2)).toBeCloseTo(0.5, 14);
    expect(lrMultiplier(at('linear', 5, 5), 4)).toBe(0.8);
    expect(lrMultiplier(at('linear', 5, 5), 5)).toBe(0);
    expect(lrMultiplier(at('cosine', 5, 5), 5)).toBe(1);
  });

  it('scheduledLr: update k (1-based) uses the multiplier after k − 1 updates', () => {
    expect(scheduledLr(1e-3, at('linear'), 1)).toBe(0);
    expect(scheduledLr(1e-3, at('linear'), 2)).toBe(5e-4);
    expect(scheduledLr(1e-3, at('linear'), 6)).toBeCloseTo(6.25e-4, 18);
    expect(scheduledLr(2e-5, at('constant'), 7)).toBe(2e-5);
  });
});

describe('resolveWarmupSteps (TrainingArguments.get_warmup_steps)', () => {
  it('warmup_steps > 0 wins; else ceil(max_steps · ratio)', () => {
    expect(resolveWarmupSteps(25, 4, 0.5)).toBe(4);
    expect(resolveWarmupSteps(25, 0, 0.1)).toBe(3); // ceil(2.5)
    expect(resolveWarmupSteps(10, undefined, 0.2)).toBe(2);
    expect(resolveWarmupSteps(10, 0, 0)).toBe(0);
    expect(resolveWarmupSteps(10, undefined, undefined)).toBe(0);
  });
});
