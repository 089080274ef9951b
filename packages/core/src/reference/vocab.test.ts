import { describe, expect, it } from 'vitest';
import type { VocabStatName } from '../backend/tensor-ops.js';
import { normalAt, RngStream } from '../sampling/rng.js';
import { VOCAB_STAT_NAMES } from '../objectives/vocab-stats.js';
import { expectClose, peakRelative } from '../testing/conformance-compare.js';
import { finiteDifferences } from '../testing/finite-differences.js';
import { vocabGradReference, vocabStatsReference } from './vocab.js';

/** The textbook formulas, materialising the softmax, for moderate logits. */
function naiveStats(z: number[], y: number, t: number): Record<VocabStatName, number> {
  const finite = z.filter((v) => v !== Number.NEGATIVE_INFINITY);
  const e = z.map((v) => Math.exp(v / t));
  const total = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / total);
  return {
    lse: Math.log(total),
    ez: z.reduce((a, v, j) => (p[j] === 0 ? a : a + (p[j] * v) / t), 0),
    zy: z[y] / t,
    mz: finite.reduce((a, b) => a + b, 0) / (finite.length * t),
    s2: p.reduce((a, v) => a + v * v, 0),
  };
}

function randomLogits(n: number, v: number, scale: number, seed: number): Float64Array {
  const out = new Float64Array(n * v);
  for (let i = 0; i < out.length; i++) out[i] = scale * normalAt(seed, RngStream.init, i);
  return out;
}

describe('vocabStatsReference', () => {
  const n = 3;
  const v = 11;
  const t = 0.7;
  const targets = [2, 0, 10];
  const stats = VOCAB_STAT_NAMES;

  it('matches the naive formulas on random logits (f64 and f32 input)', () => {
    const logits = randomLogits(n, v, 2, 1);
    for (const input of [logits, new Float32Array(logits)]) {
      const got = vocabStatsReference(input, targets, n, v, { temperature: t, stats });
      const want: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = Array.from(input.subarray(i * v, (i + 1) * v));
        const ref = naiveStats(row, targets[i], t);
        for (const s of stats) want.push(ref[s]);
      }
      expectClose('stats', got, want, peakRelative(want, 1e-12));
    }
  });

  it('treats -Infinity entries as outside the support (no NaN; mz over finite entries)', () => {
    const logits = randomLogits(n, v, 1, 2);
    const masked = [1, 4, 5];
    for (let i = 0; i < n; i++)
      for (const j of masked) logits[i * v + j] = Number.NEGATIVE_INFINITY;
    const got = vocabStatsReference(logits, targets, n, v, { temperature: t, stats });
    const kept = new Float64Array(n * (v - masked.length));
    const keptTargets = targets.map((y) => y - masked.filter((j) => j < y).length);
    for (let i = 0, k = 0; i < n; i++) {
      for (let j = 0; j < v; j++) if (!masked.includes(j)) kept[k++] = logits[i * v + j];
    }
    const want = vocabStatsReference(kept, keptTargets, n, v - masked.length, {
      temperature: t,
      stats,
    });
    expectClose('masked vs dropped', got, want, peakRelative(want, 1e-12));
  });

  it('is exact at extreme logits (±1e4), where the naive softmax overflows', () => {
    const z = new Float64Array([1e4, 1e4 - 0.5, -1e4, 0, 1e4 - 3]);
    const got = vocabStatsReference(z, [2], 1, 5, { temperature: 0.5, stats });
    const shifted = naiveStats(
      Array.from(z, (x) => x - 1e4),
      2,
      0.5,
    );
    expect(got[0]).toBeCloseTo(shifted.lse + 2e4, 8);
    expect(got[1]).toBeCloseTo(shifted.ez + 2e4, 8);
    expect(got[2]).toBe(-2e4);
    expect(got[4]).toBeCloseTo(shifted.s2, 14);
  });

  it('rejects NaN, +Infinity, all -Infinity rows and bad targets, naming the entry', () => {
    const opts = { temperature: 1, stats: ['lse', 'zy'] as VocabStatName[] };
    expect(() => vocabStatsReference(new Float64Array([0, Number.NaN]), [0], 1, 2, opts)).toThrow(
      /logits\[0, 1\] = NaN/,
    );
    expect(() =>
      vocabStatsReference(new Float64Array([Number.POSITIVE_INFINITY, 0]), [0], 1, 2, opts),
    ).toThrow(/logits\[0, 0\]/);
    expect(() =>
      vocabStatsReference(
        new Float64Array([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]),
        [0],
        1,
        2,
        opts,
      ),
    ).toThrow(/no finite entry/);
    expect(() => vocabStatsReference(new Float64Array([0, 1]), [2], 1, 2, opts)).toThrow(
      /targets\[0\] = 2/,
    );
    expect(() =>
      vocabStatsReference(new Float64Array([0, 1]), [0], 1, 2, {
        temperature: 1,
        stats: ['lse', 'nope' as VocabStatName],
      }),
    ).toThrow(/unknown vocabulary statistic 'nope'/);
  });
});

describe('vocabGradReference', () => {
  it('each statistic’s d/dz matches central finite differences (with -Infinity entries)', () => {
    const n = 2;
    const v = 9;
    const t = 0.5;
    const targets = [3, 7];
    const logits = randomLogits(n, v, 1.5, 3);
    logits[5] = Number.NEGATIVE_INFINITY;
    logits[v + 1] = Number.NEGATIVE_INFINITY;
    for (const stat of VOCAB_STAT_NAMES) {
      const opts = { temperature: t, stats: [stat] };
      // A random weighting of the rows makes the check see each row separately.
      const coeffs = new Float64Array([0.7, -1.3]);
      const values = vocabStatsReference(logits, targets, n, v, opts);
      const grad = vocabGradReference(logits, targets, values, coeffs, n, v, opts);
      const finite = [...logits.keys()].filter((i) => Number.isFinite(logits[i]));
      const fd = finiteDifferences(
        (z) => {
          const s = vocabStatsReference(z, targets, n, v, opts);
          return coeffs[0] * s[0] + coeffs[1] * s[1];
        },
        logits,
        { indices: finite, h: 1e-5 },
      );
      expect(grad[5]).toBe(0);
      expect(grad[v + 1]).toBe(0);
      const analytic = finite.map((i) => grad[i]);
      expectClose(`d${stat}/dz`, analytic, fd, peakRelative(fd, 1e-7));
    }
  });

  it('accumulates several statistics and skips rows with zero coefficients', () => {
    const n = 2;
    const v = 6;
    const opts = { temperature: 1, stats: ['lse', 'zy'] as VocabStatName[] };
    const logits = randomLogits(n, v, 1, 4);
    const values = vocabStatsReference(logits, [1, 2], n, v, opts);
    const grad = vocabGradReference(logits, [1, 2], values, [1, -1, 0, 0], n, v, opts);
    // d(lse − zy)/dz = p − onehot(y): sums to zero over the row
    expect(Math.abs(grad.subarray(0, v).reduce((a, b) => a + b, 0))).toBeLessThan(1e-15);
    expect(Array.from(grad.subarray(v))).toEqual(new Array(v).fill(0));
  });
});
