import type { StepMetrics } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, stepLine } from './progress.js';

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
  it('the step line shows the learning rate, num_tokens, mean completion length and clipped ratio, ? for NaN', () => {
    expect(stepLine(m, 10)).toBe(
      'step 3/10 loss 1.2346 entropy ? grad_norm 0.500 lr 2.00e-5 num_tokens 300 len 12.3 clipped 75% 42 tok/s 1.50 s',
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

describe('progress: ETA and the end of the bar', () => {
  const tty = () => {
    const out = { written: '' };
    const stream = { isTTY: true, write: (s: string) => (out.written += s) } as never;
    return { out, stream };
  };

  it('the ETA is the mean step time since the first update times the steps left', () => {
    const { out, stream } = tty();
    let t = 0;
    const p = createProgress(stream, () => t);
    p.update('rollout', 1, 10);
    expect(out.written).not.toContain('ETA'); // nothing finished yet
    t = 10_000;
    p.update('rollout', 2, 10, m);
    expect(out.written).toMatch(/step 2\/10 · rollout .* · ETA 1m30s$/); // 9 left × 10 s
    t = 30_000;
    p.update('loss', 3, 10, m);
    expect(out.written).toMatch(/· ETA 2m00s$/); // 2 steps in 30 s: 8 left × 15 s
  });

  it('a resumed run measures from its first update, not from step 1', () => {
    const { out, stream } = tty();
    let t = 0;
    const p = createProgress(stream, () => t);
    p.update('rollout', 51, 100); // resumed at 50: 50 finished before this process
    t = 2_000;
    p.update('rollout', 52, 100);
    expect(out.written).toMatch(/· ETA 1m38s$/); // 1 step in 2 s, 49 left
  });

  it('done() clears the bar instead of leaving it on screen; plain output has no bar', () => {
    const { out, stream } = tty();
    const p = createProgress(stream, () => 0);
    p.update('rollout', 1, 2);
    p.line('step 1/2 loss 1');
    p.done();
    expect(out.written.endsWith('\r\x1b[2K')).toBe(true);
    expect(out.written).not.toMatch(/\n$/);

    let plain = '';
    const pipe = { isTTY: false, write: (s: string) => (plain += s) } as never;
    const q = createProgress(pipe, () => 0);
    q.update('rollout', 1, 2);
    q.line('step 1/2 loss 1');
    q.update('rollout', 2, 2);
    q.done();
    expect(plain).toBe('step 1/2 loss 1\n');
  });

  it('formats durations as s, m ss s and h mm m', () => {
    expect([8, 75, 3725, 0.4].map(formatDuration)).toEqual(['8s', '1m15s', '1h02m', '0s']);
  });
});
