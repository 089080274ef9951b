import { describe, expect, it } from 'vitest';
import { buildBatch } from './batch.js';
import { runSvg } from './metrics.js';

describe('buildBatch', () => {
  it('left-pads prompts, right-pads completions, masks pad like the reference', () => {
    const b = buildBatch(
      [
        [1, 5],
        [1, 6, 7],
      ],
      [[8, 2], [9]],
      2,
    );
    expect(b.T).toBe(5);
    expect(b.promptLength).toBe(3);
    expect([...b.ids]).toEqual([2, 1, 5, 8, 2, 1, 6, 7, 9, 2]);
    expect([...b.keyMask]).toEqual([0, 1, 1, 1, 0, 1, 1, 1, 1, 0]);
    expect([...b.positions]).toEqual([0, 0, 1, 2, 2, 0, 1, 2, 3, 3]);
  });
});

describe('runSvg', () => {
  it('draws one point per step for loss and entropy', () => {
    const m = [1, 2, 3].map((step) => ({
      step,
      loss: 3 - step * 0.5,
      entropy: 3 - step * 0.5,
      grad_norm: 1,
      lr: 2e-5,
      tokens: 10,
      tokens_per_s: 5,
      seconds: { rollout: 1, loss_grad: 1, optimizer: 0, checkpoint: 0, total: 2 },
      transfers: { bytes_up: 0, bytes_down: 0 },
    }));
    const svg = runSvg(m);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle/g)?.length).toBe(6);
    expect(svg).toContain('entropy');
  });
});
