import { planMemory } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { benchModel } from './models.js';
import { benchPlan, planBackendOf } from './plan.js';
import type { BenchReport } from './report.js';
import { runBenchReport } from './run-bench.js';

describe('the memory plan in tools/bench', () => {
  it('is core planMemory of the bench workload (given completions, AdamW)', () => {
    const model = benchModel('stories260K');
    const wl = { genBatch: 1, effectiveBatch: 4, microBatch: 2, promptTokens: 16, newTokens: 32 };
    const p = planMemory({
      config: model.config,
      backend: 'ort-cpu',
      microBatch: 2,
      effectiveBatch: 4,
      promptTokens: 16,
      maxNewTokens: 32,
      sampling: false,
      optimizer: 'adamw',
    });
    expect(benchPlan({ label: 'ort', kind: 'ort' }, model, wl)).toEqual({
      host_bytes: p.host_bytes,
      device_bytes: 0,
    });
    expect(planBackendOf({ label: 'ort:cuda:1', kind: 'ort', device: 'cuda:1' })).toBe('ort-cuda');
    const lavapipe = benchPlan({ label: 'dawn', kind: 'dawn' }, model, wl, undefined, true);
    expect(lavapipe.device_bytes).toBe(0);
  });

  it('the EM step reports plan, peak RSS and their ratio (reference, stories260K: within 2×)', () => {
    const r = runBenchReport(
      [
        ...['--backend', 'reference', '--model', 'stories260K'],
        ...['--effective-batch', '2', '--micro-batch', '2', '--prompt-tokens', '8'],
        ...['--new-tokens', '8', '--steps', '1', '--only', 'em-step'],
      ],
      120_000,
    );
    expect(r.status, r.stderr).toBe(0);
    const em = (r.report as BenchReport).runs[0].em_step;
    expect(em?.plan?.host_bytes).toBeGreaterThan(0);
    expect(em?.peak_rss_bytes).toBeGreaterThan(0);
    const ratio = (em?.peak_rss_bytes ?? 0) / (em?.plan?.host_bytes ?? 1);
    expect(em?.rss_over_plan).toBeCloseTo(ratio, 9);
    // the runtime term dominates at 260K parameters; the calibration numbers are in README.md
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
