import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../reference/reference-backend.js';
import {
  checkpointBytes,
  OFFLOAD_CONFIG,
  OFFLOAD_PARAMS,
  offloadRun,
} from '../testing/offload-runs.js';
import { loadCheckpointState } from './checkpoint.js';
import { HostOptimizer } from './host-optimizer/pool.js';
import {
  createHostOptimizerState,
  defaultOptimizerOn,
  hostOptimizerUpdate,
  trainerOffloads,
} from './offload.js';
import { createOptimizerState, optimizerUpdate } from './optimizer.js';
import { expectAdamwClose, testOptimizerConfig } from '../testing/optimizer.js';
import { randomFloats } from '../testing/random.js';
import { paramSpecs, numel } from '../model/params.js';

const reference = () => createReferenceBackend({ precision: 'f32' });
const FILES = ['model.safetensors', 'optimizer.safetensors'];

function expectSameCheckpoints(
  a: Awaited<ReturnType<typeof offloadRun>>,
  b: Awaited<ReturnType<typeof offloadRun>>,
  steps: string[],
  files = FILES,
) {
  for (const step of steps)
    for (const f of files)
      expect(
        checkpointBytes(a, step, f).equals(checkpointBytes(b, step, f)),
        `${step}/${f} bit-equal`,
      ).toBe(true);
}

describe('optimizer on the host (ZeRO-offload) on the reference backend', () => {
  it('3 AdamW steps equal the device run bit for bit (the inline host kernel is the reference’s); the same losses and norms', async () => {
    const device = await offloadRun(reference(), { optimizerOn: 'device' });
    const host = await offloadRun(reference(), { optimizerOn: 'host' });
    expect(host.metrics.map((m) => m.loss)).toEqual(device.metrics.map((m) => m.loss));
    expect(host.metrics.map((m) => m.grad_norm)).toEqual(device.metrics.map((m) => m.grad_norm));
    expectSameCheckpoints(host, device, ['step_1', 'step_2', 'final']);
  });

  it('SGD: host equals device bit for bit', async () => {
    const sgd = testOptimizerConfig('sgd', { lr: 0.1 });
    const device = await offloadRun(reference(), { optimizerOn: 'device', optimizer: sgd });
    const host = await offloadRun(reference(), { optimizerOn: 'host', optimizer: sgd });
    expectSameCheckpoints(host, device, ['final'], ['model.safetensors']);
  });

  it('device memory: the step peak is lower by the AdamW m and v bytes; traffic: gradients down and weights up once', async () => {
    const device = await offloadRun(reference(), { optimizerOn: 'device', steps: 1, saveSteps: 0 });
    const host = await offloadRun(reference(), { optimizerOn: 'host', steps: 1, saveSteps: 0 });
    const moments = 2 * 4 * OFFLOAD_PARAMS;
    const dPeak = device.metrics[0].memory?.peak_bytes ?? Number.NaN;
    const hPeak = host.metrics[0].memory?.peak_bytes ?? Number.NaN;
    // m, v are the only persistent difference; the peak phase (loss/grad) is the same otherwise
    expect(dPeak - hPeak).toBeGreaterThanOrEqual(0.95 * moments);
    expect(dPeak - hPeak).toBeLessThanOrEqual(1.05 * moments);
    const weightBytes = 4 * OFFLOAD_PARAMS;
    const dt = device.metrics[0].transfers;
    const ht = host.metrics[0].transfers;
    // host: every gradient read once, the checkpoint from host memory (nothing read back);
    // device: the (final) checkpoint reads the weights, m and v (12 bytes/param)
    expect(ht.bytes_down - dt.bytes_down).toBe(weightBytes - 3 * weightBytes);
    expect(ht.bytes_up - dt.bytes_up).toBe(weightBytes); // every weight uploaded once
  });

  it('--resume of an offloaded run from step 2 continues bit for bit (host master and moments restored)', async () => {
    const full = await offloadRun(reference(), { optimizerOn: 'host' });
    const state = loadCheckpointState(join(full.out, 'step_2'), OFFLOAD_CONFIG);
    const { loadHfModel } = await import('../io/hf-model.js');
    const weights = loadHfModel(join(full.out, 'step_2')).weights;
    const resumed = await offloadRun(reference(), {
      optimizerOn: 'host',
      resume: { ...state, masterWeights: weights },
    });
    expect(resumed.metrics.at(-1)?.loss).toBe(full.metrics.at(-1)?.loss);
    expectSameCheckpoints(resumed, full, ['final']);
  });

  it('releaseWeights: the loaded arrays become the master (the caller’s map is emptied); without it they are not touched', async () => {
    const released = await offloadRun(reference(), {
      optimizerOn: 'host',
      releaseWeights: true,
      steps: 1,
    });
    expect(released.weights.size).toBe(0);
    const kept = await offloadRun(reference(), { optimizerOn: 'host', steps: 1 });
    const { tinyModelWeights } = await import('../testing/fixtures.js');
    const initial = tinyModelWeights(OFFLOAD_CONFIG, 3);
    for (const [name, values] of initial)
      expect(
        Buffer.from(kept.weights.get(name)!.buffer).equals(Buffer.from(values.buffer)),
        name,
      ).toBe(true);
  });

  it('defaults: ORT host, others device; ORT with optimizerOn device is an error naming the flag', () => {
    expect(defaultOptimizerOn('ort')).toBe('host');
    expect(defaultOptimizerOn('dawn')).toBe('device');
    expect(defaultOptimizerOn('reference')).toBe('device');
    expect(trainerOffloads('ort', 'host')).toBe(false);
    expect(trainerOffloads('dawn', 'host')).toBe(true);
    expect(trainerOffloads('reference', 'device')).toBe(false);
    expect(() => trainerOffloads('ort', 'device')).toThrow(
      /--optimizer-on device: the ort backend/,
    );
  });

  it('hostOptimizerUpdate through the worker pool (SIMD kernel): m, v bit-for-bit, p within the stated bound of the device update; grads consumed', async () => {
    const backend = reference();
    const pool = new HostOptimizer({ threads: 2, inlineMax: 0, chunk: 1024 });
    const cfg = testOptimizerConfig('adamw');
    try {
      const specs = paramSpecs(OFFLOAD_CONFIG);
      const w0 = new Map(specs.map((s, k) => [s.name, randomFloats(numel(s.shape), 100 + k, 0.1)]));
      const host = createHostOptimizerState(OFFLOAD_CONFIG, 'adamw', w0, { adopt: false });
      const hostW = new Map(specs.map((s) => [s.name, backend.upload(w0.get(s.name)!, s.shape)]));
      const devW = new Map(specs.map((s) => [s.name, backend.upload(w0.get(s.name)!, s.shape)]));
      const dev = createOptimizerState(backend, OFFLOAD_CONFIG, 'adamw');
      for (let step = 1; step <= 2; step++) {
        const g = (k: number, s: (typeof specs)[number]) =>
          backend.upload(randomFloats(numel(s.shape), 1000 * step + k), s.shape);
        const hostGrads = new Map(specs.map((s, k) => [s.name, g(k, s)]));
        const devGrads = new Map(specs.map((s, k) => [s.name, g(k, s)]));
        await hostOptimizerUpdate(backend, hostW, hostGrads, host, cfg, 0.5, pool);
        expect(hostGrads.size, 'every gradient read and disposed').toBe(0);
        optimizerUpdate(backend, devW, devGrads, dev, cfg, 0.5);
      }
      expect(pool.workerCount()).toBe(1);
      for (const s of specs) {
        const want = {
          p: (await backend.read(devW.get(s.name)!)) as Float32Array,
          m: (await backend.read(dev.m.get(s.name)!)) as Float32Array,
          v: (await backend.read(dev.v.get(s.name)!)) as Float32Array,
        };
        const got = { p: host.master.get(s.name)!, m: host.m.get(s.name)!, v: host.v.get(s.name)! };
        expectAdamwClose(s.name, got, want, w0.get(s.name)!, 2);
        // the device weight is the uploaded master
        expect(
          Buffer.from(((await backend.read(hostW.get(s.name)!)) as Float32Array).buffer).equals(
            Buffer.from(Float32Array.from(got.p).buffer),
          ),
        ).toBe(true);
      }
    } finally {
      await pool.destroy();
    }
  });
});
