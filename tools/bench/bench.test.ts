import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '@oneshot-em/core';
import { benchMatmul, benchVocabGrad, benchVocabStats, hostCopyGBps } from './kernels.js';
import type { BenchReport } from './report.js';
import { runBench, runBenchReport } from './run-bench.js';
import { SCALE_PHASES } from './scale.js';

describe('bench.ts end to end (reference backend, stories260K, tiny workload)', () => {
  it('writes a JSON report with positive rates and the trainer phases, and prints the table', () => {
    const r = runBenchReport([
      ...['--backend', 'reference', '--model', 'stories260K'],
      ...['--gen-batch', '1', '--effective-batch', '2', '--micro-batch', '2'],
      ...['--prompt-tokens', '3', '--new-tokens', '3', '--steps', '2'],
      ...['--only', 'generation,training,em-step'],
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('reference(f32)');
    const report = r.report as BenchReport;
    const [run] = report.runs;
    expect(run.error).toBeUndefined();
    expect(run.params).toBeGreaterThan(200_000);
    for (const x of [
      run.generation?.prefill_tokens_per_s,
      run.generation?.decode_tokens_per_s,
      run.training?.train_tokens_per_s,
      run.em_step?.update_seconds,
    ]) {
      expect(x).toBeGreaterThan(0);
      expect(Number.isFinite(x)).toBe(true);
    }
    expect(run.training?.tokens).toBe(2 * 6);
    // the reference backend reports its tensors: the weights at least (260,032 f32)
    expect(run.generation?.device_peak_bytes).toBeGreaterThanOrEqual(4 * 260_032);
    expect(run.em_step?.metrics['completions/mean_length']).toBe(3);
    expect(run.transfers.uploads).toBeGreaterThan(0);
    expect(report.kernels).toEqual([]);
  });

  it('kernel benchmarks: FLOPs and bytes over the measured seconds', async () => {
    const ref = createReferenceBackend({ precision: 'f32' });
    const [mm] = await benchMatmul(ref, [{ m: 8, k: 16, n: 12 }], 2);
    expect(mm.gflops).toBeCloseTo((2 * 8 * 16 * 12) / mm.seconds / 1e9, 6);
    const [vs] = await benchVocabStats(ref, [{ n: 4, v: 100 }], 2, 10);
    expect(vs.gbps).toBeCloseTo((4 * 100 * 4) / vs.seconds / 1e9, 6);
    expect(vs.bandwidth_fraction).toBeCloseTo(vs.gbps / 10, 9);
    // the gradient reads the logits and writes their gradient
    const [vg] = await benchVocabGrad(ref, [{ n: 4, v: 100 }], 2, 10);
    expect(vg.gbps).toBeCloseTo((2 * 4 * 100 * 4) / vg.seconds / 1e9, 6);
    expect(vg.bandwidth_fraction).toBeCloseTo(vg.gbps / 10, 9);
    expect(hostCopyGBps()).toBeGreaterThan(0);
  });

  it('--only scale on ORT: every phase in the JSON, bytes/param, the table', () => {
    const r = runBenchReport(
      [
        ...['--backend', 'ort', '--model', 'stories260K', '--only', 'scale'],
        ...['--prompt-tokens', '4', '--new-tokens', '8'],
      ],
      120_000,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('scale stage');
    const report = r.report as BenchReport;
    expect(report.runs).toHaveLength(1);
    const [run] = report.runs;
    expect(run.error).toBeUndefined();
    expect(run.workload).toMatchObject({ effective_batch: 2, micro_batch: 2, new_tokens: 8 });
    const s = run.scale;
    expect(Object.keys(s?.phases ?? {})).toEqual([...SCALE_PHASES]);
    expect(s?.params).toBe(260_032);
    expect(s?.bytes_per_param).toBeGreaterThan(16);
    expect(Number.isFinite(s?.entropy_after)).toBe(true);
    expect(run.transfers.uploads).toBeGreaterThan(0);
  });

  it('--dawn-options must be a JSON object', () => {
    const r = runBench(['--backend', 'dawn', '--only', 'scale', '--dawn-options', '[1]'], 30_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--dawn-options [1]: expected a JSON object');
  });

  it('--dawn-options reach createDawnBackend as they are', () => {
    // a combination the factory refuses before it opens a device (so no adapter is needed)
    const r = runBench(
      [
        ...['--backend', 'dawn', '--model', 'stories260K', '--only', 'scale'],
        ...['--dawn-options', '{"f16":true,"matmul":"tile64"}'],
      ],
      30_000,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('f16 has only a 16×16-tile matmul');
  });

  it('rejects a GPU-only shape without --gpu', () => {
    const r = runBench(['--model', 'qwen2.5-0.5b'], 30_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('GPU-only shape: add --gpu (or --only scale)');
  });
});
