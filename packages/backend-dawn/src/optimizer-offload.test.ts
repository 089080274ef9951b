/**
 * The optimizer on the host (core's trainer, optimizerOn 'host': f32 master and AdamW m, v in
 * host memory, the gradients read down and the weights uploaded per step) against the same run
 * with Dawn's f32 GPU AdamW, on fresh backends: 3 steps of the tiny Qwen2 on given completions.
 */
import { join } from 'node:path';
import { loadCheckpointState, loadHfModel } from '@oneshot-em/core/node';
import {
  checkpointBytes,
  OFFLOAD_CONFIG,
  OFFLOAD_PARAMS,
  offloadRun,
} from '@oneshot-em/core/testing';
import { type Backend, paramSpecs } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from './dawn-backend.js';
import { sizeClass } from './runtime/buffers.js';
import { rowsPerSegment } from './runtime/segments.js';
import { useDawn } from './testing/harness.js';

/** The saved f32 weights of a run's final checkpoint, by name. */
function finalWeights(run: Awaited<ReturnType<typeof offloadRun>>): Map<string, Float32Array> {
  return loadHfModel(join(run.out, 'final')).weights;
}

describe('optimizer on the host on Dawn', () => {
  const h = useDawn(); // skips (locally) or fails (CI) without an adapter

  async function run(optimizerOn: 'host' | 'device', dtype: 'f32' | 'bf16' = 'f32', steps = 3) {
    const backend = await createDawnBackend({ dtype });
    try {
      return await offloadRun(backend, { optimizerOn, saveSteps: 0, steps });
    } finally {
      await backend.destroy();
    }
  }

  it('one AdamW step equals the GPU AdamW step (stated tolerance); 3 steps: the same losses; device peak lower by about m + v', async (ctx) => {
    h.dawn(ctx);
    // One step: the same gradients on both sides, so only the optimizer's arithmetic differs.
    // Both store g, m, v in f32; the GPU forms the update in f32 where the host kernel uses f64
    // per element, bias corrections included: 1 − 0.999 in f32 is 4.7e-5 off, so √(1 − β₂ᵗ) is
    // 2.3e-5 off and the update |u| ≤ lr (1e-2) by as much; p by one rounding more. A wrong step,
    // scale or clip factor would be off by a fraction of lr itself.
    const a = finalWeights(await run('device', 'f32', 1));
    const b = finalWeights(await run('host', 'f32', 1));
    let worst = 0;
    let where = '';
    for (const [name, x] of a) {
      const y = b.get(name) as Float32Array;
      for (let i = 0; i < x.length; i++) {
        const r = Math.abs(x[i] - y[i]) / (2 ** -22 * Math.abs(x[i]) + 5e-5 * 1e-2);
        if (!(r <= worst)) [worst, where] = [r, `${name}[${i}] ${x[i]} vs ${y[i]}`];
      }
    }
    console.log(`host vs GPU AdamW after 1 step: worst ${worst.toFixed(3)}× the bound at ${where}`);
    expect(worst, where).toBeLessThanOrEqual(1);
    // Three steps: later gradients differ by those roundings, and Adam normalises near-zero
    // gradients (k_proj.bias's is analytically 0) to ±lr, so weights are compared through the
    // losses they give.
    const device = await run('device');
    const host = await run('host');
    for (const [i, m] of host.metrics.entries()) {
      expect(Math.abs(m.loss - device.metrics[i].loss)).toBeLessThanOrEqual(
        1e-4 * Math.abs(device.metrics[i].loss),
      );
    }
    expect(host.metrics[0].loss).toBe(device.metrics[0].loss);
    const moments = 8 * OFFLOAD_PARAMS;
    const dPeak = Math.max(...device.metrics.map((m) => m.memory?.peak_bytes ?? Number.NaN));
    const hPeak = Math.max(...host.metrics.map((m) => m.memory?.peak_bytes ?? Number.NaN));
    console.log(
      `device peak: optimizer on device ${dPeak} B, on host ${hPeak} B; m + v ${moments} B`,
    );
    // m and v in the pool's size classes: at least their bytes, at most twice
    expect(dPeak - hPeak).toBeGreaterThanOrEqual(moments);
    expect(dPeak - hPeak).toBeLessThanOrEqual(2 * moments);
    // per step: the gradients read down once, the weights uploaded once
    expect(host.metrics[1].transfers.bytes_down).toBeGreaterThanOrEqual(4 * OFFLOAD_PARAMS);
    expect(host.metrics[1].transfers.bytes_up - device.metrics[1].transfers.bytes_up).toBe(
      4 * OFFLOAD_PARAMS,
    );
  });

  it('bf16 compute copy: the re-uploaded weights get a fresh copy (the run matches the GPU AdamW one)', async (ctx) => {
    h.dawn(ctx);
    const device = await run('device', 'bf16');
    const host = await run('host', 'bf16');
    for (const [i, m] of host.metrics.entries()) {
      // bf16 matmuls: a weight that rounds differently moves the loss by ~2⁻⁸ relative at most
      expect(Math.abs(m.loss - device.metrics[i].loss)).toBeLessThanOrEqual(
        4e-3 * Math.abs(device.metrics[i].loss),
      );
    }
    // the first step's loss is before any update: identical
    expect(host.metrics[0].loss).toBe(device.metrics[0].loss);
  });

  // 32 KiB splits the tiny Qwen2's tied embedding [512, 32] into 2 row segments
  for (const maxBindingBytes of [undefined, 32 * 1024]) {
    it(`bf16, optimizer on the host${maxBindingBytes ? ', split embedding' : ''}: the device keeps only the compute copy of the matrices — peak lower by their f32 buffers, the run bit for bit the same`, async (ctx) => {
      h.dawn(ctx);
      // poolBytes 0: freed buffers are destroyed at the next submit, so the peak is what is held
      const runWith = async (dropMasters: boolean) => {
        const backend = await createDawnBackend({ dtype: 'bf16', poolBytes: 0, maxBindingBytes });
        // the trainer offers each weight to keepComputeCopyOnly; hiding it keeps the f32 buffers
        const seen: Backend = dropMasters
          ? backend
          : new Proxy(backend, {
              get: (b, k) => (k === 'keepComputeCopyOnly' ? undefined : Reflect.get(b, k)),
            });
        try {
          const r = await offloadRun(seen, { optimizerOn: 'host', saveSteps: 0 });
          return {
            ...r,
            peak: Math.max(...r.metrics.map((m) => m.memory?.peak_bytes ?? Number.NaN)),
          };
        } finally {
          await backend.destroy();
        }
      };
      const kept = await runWith(false);
      const dropped = await runWith(true);
      expect(dropped.metrics.map((m) => m.loss)).toEqual(kept.metrics.map((m) => m.loss));
      expect(
        checkpointBytes(dropped, 'final', 'model.safetensors').equals(
          checkpointBytes(kept, 'final', 'model.safetensors'),
        ),
      ).toBe(true);
      // the f32 buffers of the matrices: one per row segment, in the pool's size classes
      const matrices = paramSpecs(OFFLOAD_CONFIG).filter((p) => p.shape.length === 2);
      if (maxBindingBytes)
        expect(matrices.some((p) => rowsPerSegment(p.shape, maxBindingBytes) !== undefined)).toBe(
          true,
        );
      let f32Bytes = 0;
      for (const { shape } of matrices) {
        const [rows, width] = shape;
        const per = maxBindingBytes ? (rowsPerSegment(shape, maxBindingBytes) ?? rows) : rows;
        for (let r = 0; r < rows; r += per)
          f32Bytes += sizeClass(4 * Math.min(per, rows - r) * width);
      }
      // the peak comes while every weight is live: all else is the same in both runs
      expect(kept.peak - dropped.peak).toBe(f32Bytes);
    });
  }

  it('--resume of an offloaded run from step 2 continues bit for bit', async (ctx) => {
    h.dawn(ctx);
    const runOn = async (over: Parameters<typeof offloadRun>[1]) => {
      const backend = await createDawnBackend();
      try {
        return await offloadRun(backend, { optimizerOn: 'host', ...over });
      } finally {
        await backend.destroy();
      }
    };
    const full = await runOn({});
    const step2 = join(full.out, 'step_2');
    const state = loadCheckpointState(step2, OFFLOAD_CONFIG);
    const resumed = await runOn({
      resume: { ...state, masterWeights: loadHfModel(step2).weights },
    });
    expect(resumed.metrics.at(-1)?.loss).toBe(full.metrics.at(-1)?.loss);
    for (const f of ['model.safetensors', 'optimizer.safetensors'])
      expect(
        checkpointBytes(resumed, 'final', f).equals(checkpointBytes(full, 'final', f)),
        f,
      ).toBe(true);
  });
});
