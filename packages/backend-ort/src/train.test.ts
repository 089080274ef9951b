import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  buildBatch,
  createReferenceBackend,
  defineObjective,
  lossAndGrads,
  uploadWeights,
} from '@oneshot-em/core';
import {
  loadHfModel,
  loadModel,
  resolveObjective,
  type TrainerSettings,
  train,
} from '@oneshot-em/core/node';
import {
  expectClose,
  stories260K,
  testOptimizerConfig,
  tinyModels,
  writeTinyModel,
} from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testDevice } from './testing/device.js';
import { createOrtBackend } from './ort-backend.js';

/**
 * Core's trainer end to end through the ORT backend (fused rollouts, the traced
 * forward/stats/backward graph, host optimizer), against the same run on the CPU reference.
 * The objective exists only as TypeScript here: nothing in the backend knows it.
 */
const renyi2 = defineObjective({
  name: 'renyi-2-test',
  description: 'collision entropy −log Σp² over completion tokens (a test-only plugin)',
  params: z.object({
    temperature: z.coerce.number().gt(0).default(0.7).describe('softmax temperature'),
  }),
  stats: (p) => ({ temperature: p.temperature, stats: ['s2'] }),
  loss(ctx) {
    const { maskedMean, neg, log } = ctx.ops;
    return maskedMean(neg(log(ctx.stat('s2'))), ctx.completionMask('reference'));
  },
});

const tmp = () => mkdtempSync(join(tmpdir(), 'ort-train-'));
const dir = join(tmp(), 'tiny');
writeTinyModel(dir, { kind: 'qwen2', seed: 3 });
const prompts = [
  [1, 40, 41, 42],
  [1, 50],
];

function settings(out: string, optimizer: TrainerSettings['optimizer']): TrainerSettings {
  return {
    steps: 1,
    effectiveBatch: 4,
    microBatch: 2,
    sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    maxNewTokens: 10,
    optimizer,
    clip: 1,
    seed: 7,
    saveSteps: 0,
    out,
  };
}

async function runOn(backend: Backend, optimizer: TrainerSettings['optimizer']) {
  const out = tmp();
  const { metrics } = await train(
    backend,
    loadModel(dir),
    { objective: renyi2, params: { temperature: 0.7 }, origin: 'test' },
    { kind: 'sample', prompts },
    settings(out, optimizer),
  );
  await backend.destroy();
  return { metrics, weights: loadHfModel(join(out, 'final')).weights };
}

describe('training through ort(cpu) with a TypeScript-only plugin objective', () => {
  it('one SGD step: loss, grad norm and updated weights match the reference trainer', async () => {
    const sgd = testOptimizerConfig('sgd', { lr: 0.5 });
    const ortB = await createOrtBackend({ device: testDevice() });
    const runsBefore = ortB.runs();
    const got = await runOn(ortB, sgd);
    // Rényi-2's coefficients need the statistics (two-pass): per micro-batch the fused rollout
    // and the statistics; each backward rides on the next run (the last one on the
    // gradient-norm read). The norms of host values are computed on the host. Nothing is
    // computed twice.
    expect(ortB.runs() - runsBefore, 'session runs for one step of 2 micro-batches').toBe(5);
    const want = await runOn(createReferenceBackend({ precision: 'f64' }), sgd);
    const [g] = got.metrics;
    const [w] = want.metrics;
    expect(Number.isFinite(g.loss)).toBe(true);
    expectClose('loss', [g.loss], [w.loss], { abs: 0, rel: 1e-4 });
    expectClose('grad norm', [g.grad_norm], [w.grad_norm], { abs: 0, rel: 1e-4 });
    for (const [name, values] of want.weights) {
      expectClose(name, got.weights.get(name) ?? [], values, { abs: 2e-6, rel: 1e-5 });
    }
  });

  it('AdamW steps run and lower the objective on the batch they were taken on', async () => {
    const out = tmp();
    const backend = await createOrtBackend({ device: testDevice() });
    const adamw = testOptimizerConfig('adamw', { lr: 2e-2 });
    const { metrics } = await train(
      backend,
      loadModel(dir),
      { objective: renyi2, params: { temperature: 0.7 }, origin: 'test' },
      { kind: 'given', rows: [{ promptIds: [1, 40, 41], completionIds: [7, 8, 9, 10, 11, 12] }] },
      { ...settings(out, adamw), steps: 4, effectiveBatch: 2, microBatch: 1 },
    );
    await backend.destroy();
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expect(metrics[3].loss).toBeLessThan(metrics[0].loss);
  });
});

describe('the weights after the update: checked through the optimizer pass', () => {
  for (const kind of ['sgd', 'adamw'] as const) {
    it(`${kind}: a finite gradient that overflows the weights stops step 1, naming them, and saves nothing`, async () => {
      const out = tmp();
      const backend = await createOrtBackend({ device: testDevice() });
      // clip 0: the gradient is finite; SGD's lr·g overflows f32, AdamW's step of ~lr makes weights
      // of ~3e38, whose Σ p² overflows the f32 norm as the reference's does
      const optimizer = testOptimizerConfig(kind, { lr: kind === 'sgd' ? 1e38 : 3e38 });
      const err = await train(
        backend,
        loadModel(dir),
        await resolveObjective('token-entropy'),
        { kind: 'given', rows: [{ promptIds: [1, 40, 41], completionIds: [7, 8, 9, 10] }] },
        { ...settings(out, optimizer), effectiveBatch: 1, microBatch: 1, clip: 0 },
      ).catch((e: unknown) => e);
      await backend.destroy();
      expect((err as Error).message).toBe(
        'step 1: the weights after the update are not finite; stopping without saving this step (lower --lr?)',
      );
      expect(existsSync(join(out, 'final'))).toBe(false);
    });
  }
});

describe('token-entropy (the paper objective): loss and full gradient vs the reference', () => {
  for (const model of [...tinyModels(), stories260K()]) {
    it(`${model.name}: relative ≤ 1e-4`, async () => {
      const { config } = model;
      const V = config.vocabSize;
      const prompts = [
        [1, 30 % V, 31 % V, 32 % V],
        [1, 40 % V],
      ];
      const completions = [
        [5, 6, 7, 2],
        [9, 10, 11, 12, 13, 14],
      ];
      const batch = buildBatch(prompts, completions, 0);
      const objective = await resolveObjective('token-entropy');
      const run = async (be: Backend) => {
        const r = await lossAndGrads(
          be,
          config,
          uploadWeights(be, config, model.weights),
          batch,
          objective,
          [2],
        );
        const grads = new Map<string, Float32Array>();
        for (const [name, t] of r.grads) grads.set(name, (await be.read(t)) as Float32Array);
        return { loss: r.loss, grads };
      };
      const ortB = await createOrtBackend({ device: testDevice() });
      const got = await run(ortB);
      await ortB.destroy();
      const want = await run(createReferenceBackend({ precision: 'f64' }));
      expectClose('token-entropy loss', [got.loss], [want.loss], { abs: 0, rel: 1e-4 });
      let gotNorm = 0;
      let wantNorm = 0;
      for (const [name, w] of want.grads) {
        const g = got.grads.get(name) ?? new Float32Array();
        let scale = 0;
        for (let i = 0; i < w.length; i++) {
          scale = Math.max(scale, Math.abs(w[i]));
          gotNorm += g[i] * g[i];
          wantNorm += w[i] * w[i];
        }
        // per tensor: max |Δ| ≤ 1e-4 · max |want|
        expectClose(`d ${name}`, g, w, { abs: 1e-4 * scale });
      }
      expectClose('gradient norm', [Math.sqrt(gotNorm)], [Math.sqrt(wantNorm)], {
        abs: 0,
        rel: 1e-4,
      });
    });
  }
});
