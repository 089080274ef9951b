import { describe, expect, it } from 'vitest';
import {
  add,
  constant,
  div,
  exp,
  gradients,
  log,
  maskedMean,
  maskedSum,
  mean,
  mul,
  neg,
  perSequenceSum,
  quantile,
  stopGradient,
  sub,
  sum,
  topFractionMask,
  Var,
  where,
} from './autodiff.js';
import { expectClose, peakRelative } from '../testing/conformance-compare.js';
import { finiteDifferences } from '../testing/finite-differences.js';

describe('autodiff', () => {
  const mask = new Float64Array([1, 0, 1, 1, 0, 1, 1, 1]);
  const seqIds = [0, 0, 0, 0, 1, 1, 1, 1];
  const x0 = new Float64Array([0.3, -1.2, 0.8, 1.7, 0.1, -0.4, 2.2, 0.05]);
  const y0 = new Float64Array([1.1, 0.5, 2.5, 0.7, 1.9, 0.6, 1.3, 3.1]);

  // Uses every differentiable op; the masked entry 1 of `x` feeds log(x) = NaN and entry 4 is
  // selected away, so masks must keep them out of value and gradient.
  function loss(xv: Float64Array, yv: Float64Array) {
    const x = new Var(xv);
    const y = new Var(yv);
    const a = sub(mul(x, exp(neg(y))), div(log(y), add(y, 2)));
    const b = maskedMean(mul(a, a), mask);
    const perSeq = perSequenceSum(where(mask, log(x), constant(0)), seqIds, 2, mask);
    const c = mean(mul(perSeq, 0.5));
    const d = maskedSum(mul(x, stopGradient(y)), mask);
    const q = quantile(x, mask, 0.4);
    const top = maskedMean(mul(y, y), topFractionMask(x, mask, 0.5));
    const e = sum(mul(x, 0.01));
    const total = add(add(add(b, c), add(d, mul(q, 3))), add(top, e));
    return { x, y, total };
  }

  it('gradients of a composite of all ops match finite differences, away from masked NaNs', () => {
    // log(x) needs x > 0 where the mask selects; entry 1 (masked out) stays negative.
    const xv = x0.map((v, i) => (mask[i] ? Math.abs(v) + 0.1 : v));
    const { x, y, total } = loss(xv, y0);
    expect(Number.isFinite(total.scalar())).toBe(true);
    const [gx, gy] = gradients(total, [x, y]) as Float64Array[];
    expect(gx.every(Number.isFinite)).toBe(true);
    // y enters d only through stopGradient: its FD gradient differs by exactly that term.
    const fdX = finiteDifferences((v) => loss(v, y0).total.scalar(), xv.slice(), { h: 1e-6 });
    const fdY = finiteDifferences((v) => loss(xv, v).total.scalar(), y0.slice(), { h: 1e-6 });
    for (let i = 0; i < fdY.length; i++) if (mask[i]) fdY[i] -= xv[i];
    expectClose('dx', gx, fdX, peakRelative(fdX, 1e-7));
    expectClose('dy', gy, fdY, peakRelative(fdY, 1e-7));
  });

  it('broadcasts scalars and sums their gradient', () => {
    const s = new Var(2);
    const v = new Var(new Float64Array([1, 2, 3]));
    const out = sum(mul(v, s));
    expect(out.scalar()).toBe(12);
    const [gs, gv] = gradients(out, [s, v]);
    expect(gs).toBe(6);
    expect(Array.from(gv as Float64Array)).toEqual([2, 2, 2]);
  });

  it('masked reductions never turn masked -Infinity into NaN', () => {
    const v = new Var(new Float64Array([1, Number.NEGATIVE_INFINITY, 3]));
    const m = new Float64Array([1, 0, 1]);
    const out = maskedMean(mul(v, 2), m);
    expect(out.scalar()).toBe(4);
    const [g] = gradients(out, [v]);
    expect(Array.from(g as Float64Array)).toEqual([1, 0, 1]);
    const empty = maskedMean(v, new Float64Array(3));
    expect(empty.scalar()).toBe(0);
  });

  it('topFractionMask keeps ceil(q·n) largest masked entries; quantile interpolates like numpy', () => {
    const v = new Float64Array([5, 9, 1, 7, 3, 8]);
    const m = new Float64Array([1, 0, 1, 1, 1, 1]);
    expect(Array.from(topFractionMask(v, m, 0.2))).toEqual([0, 0, 0, 0, 0, 1]);
    // n = 5: q = 0.5 keeps ceil(2.5) = 3 → 8, 7, 5
    expect(Array.from(topFractionMask(v, m, 0.5))).toEqual([1, 0, 0, 1, 0, 1]);
    expect(Array.from(topFractionMask(v, m, 1))).toEqual([1, 0, 1, 1, 1, 1]);
    // masked values 1, 3, 5, 7, 8: q = 0.3 → position 1.2 → 3 + 0.2 · 2
    expect(quantile(v, m, 0.3).scalar()).toBeCloseTo(3.4, 12);
    expect(quantile(v, m, 1).scalar()).toBe(8);
    expect(() => topFractionMask(v, m, 0)).toThrow(/q = 0/);
  });

  it('rejects mismatched lengths with the op name', () => {
    expect(() => add(new Var(new Float64Array(2)), new Var(new Float64Array(3)))).toThrow(
      /add: vector lengths differ/,
    );
    expect(() => maskedMean(new Var(new Float64Array(2)), new Float64Array(3))).toThrow(
      /maskedSum: mask has length 3/,
    );
  });
});
