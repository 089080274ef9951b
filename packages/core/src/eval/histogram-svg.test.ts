import { scaleLinear } from 'd3-scale';
import { describe, expect, it } from 'vitest';
import { checkSvg, textBoxes } from '../plot/svg-check.js';
import { uniforms } from '../sampling/rng.js';
import { compareReport } from './compare-report.js';
import { histogram, histogramPairSvg, summarizeValues } from './histogram-svg.js';

describe('histogram', () => {
  it('counts like a direct per-bin count, last edge closed, non-finite values apart', () => {
    const values = [0, 0.1, 0.25, 0.5, 0.75, 0.99, 1, 1, Number.NaN, Number.POSITIVE_INFINITY];
    const h = histogram(values, 4, 0, 1);
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // by hand: [0,.25): 0, .1 · [.25,.5): .25 · [.5,.75): .5 · [.75,1]: .75, .99, 1, 1
    expect(h.counts).toEqual([2, 1, 1, 4]);
    expect(h.nonFinite).toBe(2);
  });

  it('rejects a bad range or bin count', () => {
    expect(() => histogram([1], 0, 0, 1)).toThrow('bins should be a positive integer, got 0');
    expect(() => histogram([1], 3, 1, 0)).toThrow(
      'histogram range should be finite with max >= min, got [1, 0]',
    );
  });
});

describe('summarizeValues', () => {
  it('matches the two-pass mean and sample standard deviation', () => {
    const values = new Float32Array([1, 2, 3, 4, 10, Number.NaN]);
    const s = summarizeValues(values);
    const finite = [1, 2, 3, 4, 10];
    const mean = finite.reduce((a, b) => a + b) / 5;
    const std = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    expect(s.count).toBe(5);
    expect(s.mean).toBeCloseTo(mean, 12);
    expect(s.std).toBeCloseTo(std, 12);
    expect([s.min, s.max]).toEqual([1, 10]);
  });
});

describe('histogramPairSvg', () => {
  it('draws both models on shared bins with bar heights proportional to density', () => {
    const base = uniforms(7, 0, 0, 2000).map((u) => u * 4);
    const trained = uniforms(7, 1, 0, 1000).map((u) => u * 2);
    const svg = histogramPairSvg({
      title: 'Token entropy <before & after>',
      xLabel: 'entropy (nats)',
      base,
      trained,
      bins: 8,
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Token entropy &lt;before &amp; after&gt;');
    expect(svg.match(/<g class="panel">/g)?.length).toBe(2);
    expect(svg.match(/class="mean"/g)?.length).toBe(2);
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(heights.length).toBe(16);
    // Shared range [min, max] of both sets: recount each set independently and compare shapes.
    const lo = Math.min(...base, ...trained);
    const hi = Math.max(...base, ...trained);
    const density = (xs: Float32Array) => {
      const counts = new Array(8).fill(0);
      for (const x of xs) counts[Math.min(7, Math.floor(((x - lo) / (hi - lo)) * 8))]++;
      return counts.map((c) => c / xs.length);
    };
    const expected = [...density(base), ...density(trained)];
    const scale = 240 / Math.max(...expected);
    const maxDiff = Math.max(...heights.map((h, i) => Math.abs(h - expected[i] * scale)));
    expect(maxDiff, `bar heights ${heights} vs ${expected.map((d) => d * scale)}`).toBeLessThan(
      0.01,
    );
    expect(svg).toContain('base: n=2000');
    expect(svg).toContain('trained: n=1000');
  });

  it.each([
    [1, 1],
    [10, 1],
    [150, 40],
    [1000, 1e-6],
  ])(
    '%i values of scale %d with NaN/Infinity mixed in: finite, in the viewBox, no text overlap',
    (n, scale) => {
      const u = uniforms(3, n, 0, n);
      const base = [...u].map((v, i) => (i % 9 === 4 ? Number.NaN : (v - 0.3) * scale));
      const trained = [...u].map((v, i) =>
        i % 11 === 5 ? Number.NEGATIVE_INFINITY : v * v * scale,
      );
      const svg = histogramPairSvg({ title: 'Logit values', xLabel: 'logit value', base, trained });
      expect(checkSvg(svg)).toEqual([]);
      const boxes = textBoxes(svg);
      expect(boxes.filter((b) => b.className === 'axis-title').map((b) => b.text)).toEqual([
        'share of values per bin (%)',
        'logit value',
        'share of values per bin (%)',
        'logit value',
      ]);
      expect(boxes.filter((b) => b.className === 'legend').map((b) => b.text)).toEqual([
        'mean',
        'trained',
        'base',
      ]);
      // the x tick labels under the first panel are d3's ticks over the data range
      const finite = [...base, ...trained].filter(Number.isFinite);
      const lo = Math.min(...finite);
      const hi = Math.max(...finite);
      const x = scaleLinear().domain(lo === hi ? [lo - 0.5, lo + 0.5] : [lo, hi]);
      const xLabels = boxes
        .filter((b) => b.className === 'tick' && b.y0 > 84 + 240 && b.x0 < 56 + 360 + 8)
        .map((b) => b.text);
      const candidates = Array.from({ length: 10 }, (_, k) => {
        const f = x.tickFormat(k + 1);
        const plain = x.ticks(k + 1).map((v) => f(v).replace('−', '-'));
        const expo = x.ticks(k + 1).map((v) =>
          v === 0
            ? '0'
            : v
                .toExponential(2)
                .replace(/\.?0+e/, 'e')
                .replace('e+', 'e'),
        );
        return plain.some((l) => l.length > 8) ? expo : plain;
      });
      expect(candidates).toContainEqual(xLabels);
      expect(xLabels.length).toBeGreaterThanOrEqual(n === 1 ? 1 : 2);
      if (n > 1) expect(svg).toMatch(/non-finite left out/);
    },
  );

  it('draws empty inputs without NaN coordinates', () => {
    const svg = histogramPairSvg({ title: 't', xLabel: 'x', base: [], trained: [], bins: 3 });
    expect(svg).not.toContain('NaN');
    expect(checkSvg(svg)).toEqual([]);
  });
});

describe('compareReport', () => {
  it('summarises both models and draws the logit and entropy figures', () => {
    const base = { logits: [0, 1, 2, 3], entropies: [1, 2], maxProbs: [0.5, 0.25] };
    const trained = { logits: [4, 6], entropies: [0.5, 0.25, 0.75], maxProbs: [0.75, 0.875, 1] };
    const report = compareReport(base, trained, { bins: 4 });
    expect(report.summary.base.meanEntropy).toBe(1.5);
    expect(report.summary.base.meanMaxProb).toBe(0.375);
    expect(report.summary.trained.meanEntropy).toBe(0.5);
    expect(report.summary.trained.meanMaxProb).toBeCloseTo(0.875, 12);
    expect(report.summary.trained.logits).toMatchObject({ count: 2, mean: 5, min: 4, max: 6 });
    expect(report.logitSvg).toContain('>Logit values<');
    expect(report.entropySvg).toContain('>Token entropy<');
    expect(report.entropySvg).toContain('trained: n=3, mean=0.50');
    expect(checkSvg(report.logitSvg)).toEqual([]);
    expect(checkSvg(report.entropySvg)).toEqual([]);
  });
});
