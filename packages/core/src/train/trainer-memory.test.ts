import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { paramCount } from '../model/params.js';
import { resolveObjective } from '../objectives/resolve-objective.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { train } from './trainer.js';

const config = tinyModelConfig('qwen2');
const rows = [
  { promptIds: [1, 40, 41, 42], completionIds: [7, 8, 9, 10, 11, 12] },
  { promptIds: [1, 50, 51, 52], completionIds: [13, 14, 15, 16, 17, 18] },
];

/** Peak tensor bytes of one AdamW step over `micro`-sized micro-batches, `count` of them. */
async function peakOfStep(backend: Backend, micro: number, count: number) {
  const out = mkdtempSync(join(tmpdir(), 'oneshot-mem-'));
  const { metrics } = await train(
    backend,
    {
      config,
      weights: tinyModelWeights(config, 3),
      dir: out,
      eosIds: [2],
      padId: 0,
      releaseWeights: true,
    },
    await resolveObjective('token-entropy'),
    { kind: 'given', rows },
    {
      steps: 1,
      effectiveBatch: micro * count,
      microBatch: micro,
      sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      maxNewTokens: 6,
      optimizer: { kind: 'adamw', lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      clip: 1,
      seed: 7,
      saveSteps: 0,
      out: join(out, 'run'),
    },
  );
  return metrics[0].memory?.peak_bytes ?? Number.NaN;
}

describe('trainer memory: a micro-batch’s tensors are released before the next', () => {
  it('reference: the step peak with 4 micro-batches ≤ the peak with 1 + one gradient set', async () => {
    const grads = paramCount(config) * 4;
    const one = await peakOfStep(createReferenceBackend({ precision: 'f32' }), 2, 1);
    const four = await peakOfStep(createReferenceBackend({ precision: 'f32' }), 2, 4);
    // it counts real tensors: at least weights + AdamW m and v (+ the gradients) live at once
    expect(one).toBeGreaterThanOrEqual(4 * grads);
    // the accumulator is the only thing a second micro-batch adds
    expect(four).toBeLessThanOrEqual(one + grads);
  });
});
