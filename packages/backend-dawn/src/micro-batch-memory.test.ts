/**
 * Device memory holds across micro-batches (issue 12 item 2): core's train() with 1 and with 6
 * micro-batches of the same size on fresh backends. `memory()` counts every GPU buffer the
 * backend holds (tensors, the pool's free buffers, the uniform ring, read staging). The peak
 * with 6 may exceed the peak with 1 only by the gradient accumulator (one f32 copy of the
 * parameters, in size classes) plus 64 KiB, and the bytes held at the start of each
 * micro-batch are the same from the 3rd on: the trainer's first accumulation (after the 2nd)
 * adds the sums, then every temporary of a micro-batch is reused by the next.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, resolveObjective, type TrainerSettings, train } from '@oneshot-em/core/node';
import { writeTinyModel } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from './dawn-backend.js';
import { sizeClass } from './runtime/buffers.js';
import { useDawn } from './testing/harness.js';

describe('device memory does not grow with the number of micro-batches', () => {
  const h = useDawn(); // skips (locally) or fails (CI) without an adapter
  const dir = join(mkdtempSync(join(tmpdir(), 'dawn-mem-')), 'tiny');
  writeTinyModel(dir, { kind: 'qwen2', seed: 5 });
  const rows = [
    { promptIds: [1, 40, 41, 42], completionIds: [60, 61, 62, 63, 64, 65, 66] },
    { promptIds: [1, 50], completionIds: [70, 71, 72, 73, 74, 75, 76, 77, 78] },
  ];

  async function run(micro: number) {
    const backend = await createDawnBackend();
    const model = loadModel(dir);
    const settings: TrainerSettings = {
      steps: 1,
      effectiveBatch: 2 * micro,
      microBatch: 2,
      sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      maxNewTokens: 8,
      optimizer: { kind: 'adamw', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      clip: 1,
      seed: 3,
      saveSteps: 0,
      out: mkdtempSync(join(tmpdir(), 'dawn-mem-out-')),
    };
    const atMicroBatch: number[] = [];
    backend.resetPeakMemory();
    await train(
      backend,
      model,
      await resolveObjective('token-entropy'),
      { kind: 'given', rows },
      settings,
      { phase: (p) => p === 'loss/grad' && atMicroBatch.push(backend.memory().liveBytes) },
    );
    const { peakBytes } = backend.memory();
    await backend.destroy();
    let accumulator = 0;
    for (const w of model.weights.values()) accumulator += sizeClass(w.length * 4);
    return { peakBytes, atMicroBatch, accumulator };
  }

  it('peak(6 micro-batches) ≤ peak(1) + the accumulator; bytes held flat from the 3rd on', async (ctx) => {
    h.dawn(ctx);
    const one = await run(1);
    const six = await run(6);
    const slack = six.accumulator + 64 * 1024;
    console.log(
      `peak with 1 micro-batch ${one.peakBytes} B, with 6 ${six.peakBytes} B (+${six.peakBytes - one.peakBytes}; slack ${slack}); held at each micro-batch ${six.atMicroBatch}`,
    );
    expect(six.peakBytes).toBeLessThanOrEqual(one.peakBytes + slack);
    expect(six.atMicroBatch).toHaveLength(6);
    for (const k of [3, 4, 5]) expect(six.atMicroBatch[k]).toBe(six.atMicroBatch[2]);
  });
});
