import { scaleLinear } from 'd3-scale';
import { describe, expect, it } from 'vitest';
import { checkSvg, textBoxes } from '../plot/svg-check.js';
import { completionStats, readStepMetrics, runSvg, type StepMetrics } from './metrics.js';

function fakeRun(n: number, nanEvery = 0): StepMetrics[] {
  return Array.from({ length: n }, (_, i) => {
    const step = i + 1;
    const nan = nanEvery > 0 && step % nanEvery === 0;
    return {
      step,
      loss: nan ? Number.NaN : 3 / step,
      entropy: nan ? Number.POSITIVE_INFINITY : 2.5 / Math.sqrt(step),
      grad_norm: 1 + Math.sin(step),
      learning_rate: 2e-5,
      num_tokens: step * 40,
      'completions/mean_length': 16 - (step % 5),
      'completions/min_length': 8,
      'completions/max_length': 16,
      'completions/clipped_ratio': nan ? Number.NaN : (step % 4) / 4,
      tokens_per_s: 100,
      step_time: 1,
      'time/rollout': 0.5,
      'time/loss_grad': 0.4,
      'time/optimizer': 0.1,
      'time/checkpoint': 0,
      transfers: { bytes_up: 0, bytes_down: 0 },
    };
  });
}

describe('completionStats', () => {
  it("computes TRL's lengths and clipped ratio (no EOS in the completion)", () => {
    // by hand: lengths 3, 2, 4; the second and third have no EOS (id 9)
    const s = completionStats(
      [
        [5, 6, 9],
        [5, 6],
        [1, 2, 3, 4],
      ],
      [9],
    );
    expect(s).toEqual({
      'completions/mean_length': 3,
      'completions/min_length': 2,
      'completions/max_length': 4,
      'completions/clipped_ratio': 2 / 3,
    });
  });
});

describe('readStepMetrics', () => {
  it('converts a line written with lr, tokens and nested seconds', () => {
    const old = {
      step: 2,
      loss: 1,
      entropy: 0.5,
      grad_norm: 3,
      lr: 1e-5,
      tokens: 12,
      tokens_per_s: 6,
      seconds: { rollout: 1, loss_grad: 0.5, optimizer: 0.25, checkpoint: 0.125, total: 2 },
      transfers: { bytes_up: 1, bytes_down: 2 },
    };
    const m = readStepMetrics(old, 30);
    expect(m).toMatchObject({
      learning_rate: 1e-5,
      num_tokens: 42,
      step_time: 2,
      'time/rollout': 1,
      'time/loss_grad': 0.5,
      'time/optimizer': 0.25,
      'time/checkpoint': 0.125,
    });
    expect(m['completions/clipped_ratio']).toBeNaN();
    expect('lr' in m || 'seconds' in m).toBe(false);
  });

  it('reads a current line back as written, null as NaN', () => {
    const line = fakeRun(1)[0];
    const back = readStepMetrics(JSON.parse(JSON.stringify({ ...line, loss: Number.NaN })));
    expect(back).toEqual({ ...line, loss: Number.NaN });
  });
});

describe('runSvg', () => {
  it.each([1, 10, 150, 1000])(
    '%i steps with NaN/Infinity mixed in: finite, inside the viewBox, no overlapping text',
    (n) => {
      const svg = runSvg(fakeRun(n, 7));
      expect(checkSvg(svg)).toEqual([]);
      const boxes = textBoxes(svg);
      const titles = boxes.filter((b) => b.className === 'axis-title').map((b) => b.text);
      expect(titles).toEqual([
        'loss, entropy (nats)',
        'gradient norm (before clipping)',
        'completion length (tokens)',
        'clipped completions (%, no EOS)',
        'step',
      ]);
      expect(boxes.filter((b) => b.className === 'legend').map((b) => b.text)).toContain('entropy');
      // the x tick labels are d3's nice ticks over the steps for some tick count
      const labels = boxes.filter((b) => b.className === 'tick' && b.y0 > 610).map((b) => b.text);
      const domain = n === 1 ? [0, 2] : [1, n];
      const x = scaleLinear().domain(domain);
      const candidates = Array.from({ length: 10 }, (_, k) =>
        x
          .ticks(k + 1)
          .filter(Number.isInteger)
          .map((v) => x.tickFormat(k + 1)(v)),
      );
      expect(candidates).toContainEqual(labels);
      expect(labels.length).toBeGreaterThanOrEqual(2);
      // markers only on short runs
      const circles = svg.match(/<circle/g)?.length ?? 0;
      if (n >= 150) expect(circles).toBeLessThan(n);
      else expect(circles).toBeGreaterThanOrEqual(n);
    },
  );

  it('a scheduled learning rate gets its own panel (warmup from 0, cosine to 0); a constant one none', () => {
    const n = 40;
    const run = fakeRun(n).map((m, i) => ({
      ...m,
      learning_rate: i < 4 ? (2e-5 * i) / 4 : 1e-5 * (1 + Math.cos((Math.PI * (i - 4)) / (n - 4))),
    }));
    const svg = runSvg(run);
    expect(checkSvg(svg)).toEqual([]);
    const titles = textBoxes(svg)
      .filter((b) => b.className === 'axis-title')
      .map((b) => b.text);
    expect(titles.slice(-2)).toEqual(['learning rate', 'step']);
    const constant = textBoxes(runSvg(fakeRun(n))).map((b) => b.text);
    expect(constant).not.toContain('learning rate');
  });

  it('draws a custom objective whose entropy is all NaN without NaN coordinates', () => {
    const svg = runSvg(fakeRun(20).map((m) => ({ ...m, entropy: Number.NaN, loss: -1e-7 })));
    expect(checkSvg(svg)).toEqual([]);
  });

  it('the check catches overlapping labels and NaN coordinates', () => {
    const bad =
      '<svg viewBox="0 0 100 100"><text x="10" y="20" font-size="10">abcdef</text>' +
      '<text x="20" y="22" font-size="10">ghi</text><circle cx="NaN" cy="5" r="1"/></svg>';
    const problems = checkSvg(bad);
    expect(problems).toContain('text "abcdef" overlaps "ghi"');
    expect(problems.some((p) => p.includes('NaN'))).toBe(true);
  });
});
