/**
 * The scale stage on stories260K (reference backend, tiny workload): every phase runs in order,
 * the step's loss agrees with an entropy pass of the initial weights, and the reloaded
 * checkpoint is the initial model moved by one AdamW step (each weight by at most lr, plus the
 * decay term: AdamW's first step is lr · g/|g|), so the save wrote the updated weights.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildBatch,
  createReferenceBackend,
  measureEntropy,
  uploadWeights,
} from '@oneshot-em/core';
import { loadHfModel } from '@oneshot-em/core/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BENCH_OPTIMIZER, benchRows, type Workload } from './measure.js';
import { benchModel } from './models.js';
import { measureScale, SCALE_PHASES } from './scale.js';

const wl: Workload = {
  genBatch: 1,
  effectiveBatch: 2,
  microBatch: 1,
  promptTokens: 4,
  newTokens: 6,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scale-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('measureScale', () => {
  it('runs build, step, save, reload and entropy; the checkpoint is one AdamW step away', async () => {
    const backend = createReferenceBackend({ precision: 'f32' });
    const seen: string[] = [];
    const r = await measureScale(backend, 'stories260K', wl, {
      save: true,
      dir,
      progress: (x) => seen.push(Object.keys(x.phases).join(',')),
    });
    expect(r.error).toBeUndefined();
    expect(Object.keys(r.phases)).toEqual([...SCALE_PHASES]);
    // progress came after each phase, not only at the end
    expect(seen[0]).toBe('build');
    expect(seen.length).toBeGreaterThanOrEqual(SCALE_PHASES.length);
    for (const p of SCALE_PHASES) expect(r.phases[p]?.seconds, p).toBeGreaterThanOrEqual(0);
    expect(r.params).toBe(260_032);
    expect(r.micro_batches_started).toBe(wl.effectiveBatch / wl.microBatch);
    expect(r.max_rss_bytes).toBeGreaterThan(10 * 2 ** 20);
    expect(r.bytes_per_param).toBeCloseTo(r.max_rss_bytes / r.params, 6);
    expect(r.checkpoint_bytes).toBeGreaterThan(3 * 4 * r.params); // weights + m + v in f32

    // the step's loss against an entropy pass over the same rows with the initial weights
    const model = benchModel('stories260K');
    const rows = benchRows(model, wl.effectiveBatch, wl);
    const batch = buildBatch(
      rows.map((x) => x.promptIds),
      rows.map((x) => x.completionIds),
      model.padId,
    );
    const ref = createReferenceBackend({ precision: 'f32' });
    const before = await measureEntropy(
      ref,
      model.config,
      uploadWeights(ref, model.config, model.weights),
      batch,
      { temperature: 0.5, eosIds: model.eosIds },
    );
    expect(Math.abs((r.loss ?? Number.NaN) - before.meanEntropy)).toBeLessThan(1e-5);
    // entropy minimisation: the reloaded weights give a lower entropy on the trained rows
    expect(r.entropy_after).toBeLessThan(before.meanEntropy);

    const saved = loadHfModel(join(dir, 'run', 'final'));
    const { lr, weightDecay } = BENCH_OPTIMIZER;
    let moved = 0;
    for (const [name, w0] of model.weights) {
      const w1 = saved.weights.get(name);
      expect(w1?.length, name).toBe(w0.length);
      if (!w1) continue;
      for (let i = 0; i < w0.length; i++) {
        const d = Math.abs(w1[i] - w0[i]);
        const bound = lr * (1 + weightDecay * Math.abs(w0[i])) + 2 ** -22 * Math.abs(w0[i]) + 1e-9;
        if (d > bound) throw new Error(`${name}[${i}]: moved ${d}, more than one step (${bound})`);
        if (d > 0.5 * lr) moved++;
      }
    }
    // most weights have a non-zero gradient, so most moved by about lr
    expect(moved).toBeGreaterThan(r.params / 2);
  });

  it('save: false stops before the checkpoint', async () => {
    const backend = createReferenceBackend({ precision: 'f32' });
    const r = await measureScale(backend, 'stories260K', wl, { save: false, dir });
    expect(r.error).toBeUndefined();
    expect(Object.keys(r.phases)).toEqual(['build', 'loss_grad', 'optimizer']);
    expect(existsSync(join(dir, 'run', 'final'))).toBe(false);
    expect(r.entropy_after).toBeUndefined();
  });

  it('names the phase that failed', async () => {
    const backend = createReferenceBackend({ precision: 'f32' });
    const r = await measureScale(backend, 'no-such-model', wl, { save: true, dir });
    expect(r.failed_phase).toBe('build');
    expect(r.error).toContain('--model no-such-model: unknown');
  });
});
