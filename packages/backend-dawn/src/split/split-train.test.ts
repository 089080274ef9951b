/**
 * A whole EM step through core's train() — sampled rollouts (the fused decode loop), the loss,
 * gradients, SGD, the save — on a backend whose binding limit (32 KiB) splits the tiny
 * Qwen2's embedding/head [512, 32] into 2 segments and every logits chunk into 16-row segments,
 * against an uncapped backend. The forward keeps its summation order (same rollouts, same
 * loss bit for bit); the head's backward cuts K, so gradients and weights agree within f32
 * rounding (stated below).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadHfModel,
  loadModel,
  resolveObjective,
  type TrainerSettings,
  train,
} from '@oneshot-em/core/node';
import { expectClose, writeTinyModel } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from '../dawn-backend.js';
import { DawnTensor } from '../runtime/tensor.js';
import { useDawn } from '../testing/harness.js';

describe('one EM step with split tensors equals the unsplit step', () => {
  const h = useDawn();
  const root = mkdtempSync(join(tmpdir(), 'dawn-split-'));

  async function step(dir: string, maxBindingBytes?: number) {
    const backend = await createDawnBackend({ maxBindingBytes });
    const probe = backend.zeros([512, 32]);
    const segments = DawnTensor.segments(probe).length;
    backend.dispose(probe);
    const out = mkdtempSync(join(tmpdir(), 'dawn-split-out-'));
    const settings: TrainerSettings = {
      steps: 1,
      effectiveBatch: 4,
      microBatch: 2,
      sampling: { temperature: 0.8, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      maxNewTokens: 10,
      optimizer: { kind: 'sgd', lr: 0.5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
      clip: 0,
      seed: 11,
      saveSteps: 0,
      out,
    };
    const { metrics, finalDir } = await train(
      backend,
      loadModel(dir),
      await resolveObjective('token-entropy'),
      {
        kind: 'sample',
        prompts: [
          [1, 40, 41, 42],
          [1, 50],
          [1, 60, 61],
        ],
      },
      settings,
    );
    await backend.destroy();
    return { segments, metrics: metrics[0], weights: loadHfModel(finalDir).weights };
  }

  for (const kind of ['qwen2', 'llama'] as const) {
    it(`tiny ${kind} (${kind === 'qwen2' ? 'tied' : 'untied'}): 32 KiB cap vs unsplit`, async (ctx) => {
      h.dawn(ctx);
      const dir = join(root, kind);
      writeTinyModel(dir, { kind, seed: 9 });
      const split = await step(dir, 32 * 1024);
      const whole = await step(dir);
      expect(split.segments).toBe(2);
      expect(whole.segments).toBe(1);
      expect(split.metrics.num_tokens).toBe(whole.metrics.num_tokens);
      expect(split.metrics.loss).toBe(whole.metrics.loss); // same rollouts, same forward order
      expectClose('grad norm', [split.metrics.grad_norm], [whole.metrics.grad_norm], {
        abs: 0,
        rel: 1e-5,
      });
      // SGD moves each weight by lr·g: a K cut changes g by f32 rounding of its sums only
      for (const [name, w] of whole.weights) {
        const s = split.weights.get(name);
        if (!s) throw new Error(`no ${name} in the split run's checkpoint`);
        expectClose(`weights after the step: ${name}`, s, w, { abs: 1e-6, rel: 1e-5 });
      }
    });
  }
});
