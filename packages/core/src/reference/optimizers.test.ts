import { describe, expect, it } from 'vitest';
import { adamwUpdate, sgdUpdate } from './optimizers.js';

const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, gradScale: 1 };

describe('reference optimizers', () => {
  it('AdamW step 1 from zero state moves each weight by lr·sign(g) after the decoupled decay', () => {
    const p = Float64Array.from([1, -2, 0.5]);
    const g = Float64Array.from([0.3, -4, 1e-3]);
    adamwUpdate(p, g, new Float64Array(3), new Float64Array(3), { ...hyper, step: 1 });
    const want = [1, -2, 0.5].map(
      (p0, i) => p0 * (1 - 0.01 * 0.1) - (0.01 * g[i]) / (Math.abs(g[i]) + 1e-8),
    );
    for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(want[i], 14);
  });

  it('AdamW over 5 steps equals the textbook form p -= lr·m̂/(√v̂ + eps), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)', () => {
    const p = Float64Array.from([0.7, -0.2]);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    const q = [0.7, -0.2];
    const mq = [0, 0];
    const vq = [0, 0];
    for (let step = 1; step <= 5; step++) {
      const g = Float64Array.from([Math.sin(step), Math.cos(3 * step) * 0.01]);
      adamwUpdate(p, g, m, v, { ...hyper, step, gradScale: 0.5 });
      for (let i = 0; i < 2; i++) {
        const gi = 0.5 * g[i];
        q[i] *= 1 - hyper.lr * hyper.weightDecay;
        mq[i] = hyper.beta1 * mq[i] + (1 - hyper.beta1) * gi;
        vq[i] = hyper.beta2 * vq[i] + (1 - hyper.beta2) * gi * gi;
        const mHat = mq[i] / (1 - hyper.beta1 ** step);
        const vHat = vq[i] / (1 - hyper.beta2 ** step);
        q[i] -= (hyper.lr * mHat) / (Math.sqrt(vHat) + hyper.eps);
      }
    }
    for (let i = 0; i < 2; i++) expect(Math.abs(p[i] - q[i])).toBeLessThan(1e-12);
  });

  it('SGD: p -= lr·(gradScale·g + wd·p)', () => {
    const p = Float64Array.from([1, -1]);
    sgdUpdate(p, Float64Array.from([2, 4]), { lr: 0.1, weightDecay: 0.5, gradScale: 0.25 });
    expect(Array.from(p)).toEqual([1 - 0.1 * (0.5 + 0.5), -1 - 0.1 * (1 - 0.5)]);
  });
});
