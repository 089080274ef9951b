import type { StepMetrics } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { createProgress, stepLine } from './progress.js';

const m: StepMetrics = {
  step: 3,
  loss: 1.23456,
  entropy: Number.NaN,
  grad_norm: 0.5,
  learning_rate: 2e-5,
  num_tokens: 300,
  'completions/mean_length': 12.25,
  'completions/min_length': 4,
  'completions/max_length': 16,
  'completions/clipped_ratio': 0.75,
  tokens_per_s: 41.6,
  step_time: 1.5,
  'time/rollout': 1,
  'time/loss_grad': 0.25,
  'time/optimizer': 0.25,
  'time/checkpoint': 0,
  transfers: { bytes_up: 0, bytes_down: 0 },
};

describe('progress', () => {
  it('the step line shows the learning rate, mean completion length and clipped ratio, ? for NaN', () => {
    expect(stepLine(m, 10)).toBe(
      'step 3/10 loss 1.2346 entropy ? grad_norm 0.500 lr 2.00e-5 len 12.3 clipped 75% 42 tok/s 1.50 s',
    );
  });

  it('the TTY bar carries the last step and is redrawn in place', () => {
    let written = '';
    const stream = { isTTY: true, write: (s: string) => (written += s) } as never;
    const p = createProgress(stream);
    p.update('rollout', 4, 10, m);
    expect(written).toContain('step 4/10 · rollout 42 tok/s len 12.3 clipped 75%');
    expect(written.startsWith('\r\x1b[2K')).toBe(true);
  });
});
