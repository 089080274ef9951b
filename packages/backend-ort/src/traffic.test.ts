import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, createReferenceBackend, paramCount } from '@oneshot-em/core';
import { loadHfModel, resolveObjective, type TrainerSettings, train } from '@oneshot-em/core/node';
import {
  expectClose,
  testOptimizerConfig,
  tinyModelConfig,
  tinyModelWeights,
} from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createOrtBackend } from './ort-backend.js';
import { testDevice } from './testing/device.js';

/**
 * Host↔device traffic and memory of core's trainer on ORT (docs/architecture.md#scale): with an objective linear
 * in its statistics (token entropy) each micro-batch is ONE graph — forward, statistics,
 * backward — so the weights cross once per micro-batch, the activations never; the gradient
 * accumulation, the norms and the optimizer work on the host values.
 */
const config = tinyModelConfig('qwen2');
const weightBytes = paramCount(config) * 4;
const rows = [
  { promptIds: [1, 40, 41, 42], completionIds: [7, 8, 9, 10, 11, 12] },
  { promptIds: [1, 50, 51, 52], completionIds: [13, 14, 15, 16, 17, 18] },
];

function settings(
  micro: number,
  count: number,
  optimizer: TrainerSettings['optimizer'],
  steps = 1,
): TrainerSettings {
  return {
    steps,
    effectiveBatch: micro * count,
    microBatch: micro,
    sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    maxNewTokens: 6,
    optimizer,
    clip: 1,
    seed: 7,
    saveSteps: 0,
    out: mkdtempSync(join(tmpdir(), 'ort-traffic-')),
  };
}
const adamw = testOptimizerConfig('adamw');
const sgd = testOptimizerConfig('sgd', { lr: 0.5 });

async function trainOn(backend: Backend, s: TrainerSettings) {
  const r = await train(
    backend,
    {
      config,
      weights: tinyModelWeights(config, 3),
      dir: s.out,
      eosIds: [2],
      padId: 0,
      releaseWeights: true,
    },
    await resolveObjective('token-entropy'),
    { kind: 'given', rows },
    s,
  );
  return { ...r, weights: loadHfModel(r.finalDir).weights };
}

describe('ORT traffic per EM step (token entropy, the real trainer)', () => {
  it('2 micro-batches: one session run each, bytes up ≤ 3× the f32 weights, per metrics.jsonl', async () => {
    const ort = await createOrtBackend({ device: testDevice() });
    const runs = ort.runs();
    const { metrics } = await trainOn(ort, settings(1, 2, adamw, 2));
    const runsPerStep = (ort.runs() - runs) / 2;
    await ort.destroy();
    expect(runsPerStep, 'graph runs per step').toBe(2);
    for (const m of metrics) {
      const up = m.transfers.bytes_up / weightBytes;
      expect(up, `step ${m.step}: bytes up / weight bytes`).toBeLessThanOrEqual(3);
      // each run feeds every weight once (2 micro-batches), and returns the gradients
      expect(up).toBeGreaterThanOrEqual(2);
      expect(m.transfers.bytes_down / weightBytes).toBeGreaterThanOrEqual(2);
    }
  });

  it('the one-pass step gives the reference trainer’s loss, gradient norm and weights (SGD)', async () => {
    const got = await trainOn(
      await createOrtBackend({ device: testDevice() }),
      settings(1, 2, sgd),
    );
    const want = await trainOn(createReferenceBackend({ precision: 'f64' }), settings(1, 2, sgd));
    expectClose('loss', [got.metrics[0].loss], [want.metrics[0].loss], { abs: 0, rel: 1e-5 });
    expectClose('grad norm', [got.metrics[0].grad_norm], [want.metrics[0].grad_norm], {
      abs: 0,
      rel: 1e-4,
    });
    for (const [name, values] of want.weights)
      expectClose(name, got.weights.get(name) ?? [], values, { abs: 2e-6, rel: 1e-5 });
  });

  it('peak tensor bytes with 4 micro-batches ≤ the peak with 1 + one gradient set', async () => {
    const peak = async (count: number) => {
      const ort = await createOrtBackend({ device: testDevice() });
      const { metrics } = await trainOn(ort, settings(2, count, adamw));
      await ort.destroy();
      return metrics[0].memory?.peak_bytes ?? Number.NaN;
    };
    const one = await peak(1);
    const four = await peak(4);
    // weights, AdamW m and v and the gradients are live at once: the counter sees real arrays
    expect(one).toBeGreaterThanOrEqual(4 * weightBytes);
    expect(four).toBeLessThanOrEqual(one + weightBytes);
  });
});
