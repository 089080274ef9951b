/**
 * Peak host memory of the trainer's EM step on ORT's CPU EP at the Qwen2.5-0.5B shape, or a
 * proxy of it with fewer layers (8 layers: 255M parameters). Random weights (models.ts), given
 * completions, AdamW, clip 1, `--steps` steps (the second is the steady state: AdamW's m and v
 * are written by then) and no checkpoint. Prints one JSON object: the process's peak RSS and
 * bytes/param, the backend's peak tensor bytes, bytes up/down over the f32 weight bytes, and
 * the loss per step.
 *
 *   npx tsx tools/bench/step-memory.ts --layers 24 --effective-batch 2 --micro-batch 2
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { paramCount, snakeCaseKeys, type StepMetrics } from '@oneshot-em/core';
import { loadBackendPlugin, resolveObjective, train } from '@oneshot-em/core/node';
import { BENCH_OPTIMIZER, BENCH_SAMPLING, benchRows } from './measure.js';
import { QWEN2_SHAPES, qwen2Config, randomBenchWeights } from './models.js';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '24' },
    'effective-batch': { type: 'string', default: '2' },
    'micro-batch': { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '32' },
    'new-tokens': { type: 'string', default: '32' },
    steps: { type: 'string', default: '2' },
  },
});
const int = (flag: keyof typeof values) => {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} ${values[flag]}: expected 1, 2, …`);
  return n;
};
const wl = {
  genBatch: 1,
  effectiveBatch: int('effective-batch'),
  microBatch: int('micro-batch'),
  promptTokens: int('prompt-tokens'),
  newTokens: int('new-tokens'),
};
const steps = int('steps');
const config = qwen2Config({ ...QWEN2_SHAPES['qwen2.5-0.5b'], numLayers: int('layers') });
const params = paramCount(config);

/** Thrown by the phase hook to stop the trainer before the step past the measured ones. */
class StopSignal extends Error {}

const weights = randomBenchWeights(config, 1);
const model = { name: 'proxy', config, weights, eosIds: config.eosTokenIds, padId: 0, params };
const rows = benchRows(model, wl.effectiveBatch, wl);
const backend = await (await loadBackendPlugin('ort')).create({ device: 'cpu' });
const out = mkdtempSync(join(tmpdir(), 'step-memory-'));
const t0 = performance.now();
const { metrics } = await train(
  backend,
  { config, weights, dir: out, eosIds: config.eosTokenIds, padId: 0, releaseWeights: true },
  await resolveObjective('token-entropy'),
  { kind: 'given', rows },
  {
    steps: steps + 1, // the checkpoint of the last step is not measured: stop before it
    effectiveBatch: wl.effectiveBatch,
    microBatch: wl.microBatch,
    sampling: BENCH_SAMPLING,
    maxNewTokens: wl.newTokens,
    optimizer: BENCH_OPTIMIZER,
    clip: 1,
    seed: 42,
    saveSteps: 0,
    out: join(out, 'run'),
  },
  {
    phase: (_phase, step) => {
      if (step > steps) throw new StopSignal();
    },
  },
).catch((e) => {
  if (e instanceof StopSignal) return { metrics: readMetrics(join(out, 'run', 'metrics.jsonl')) };
  throw e;
});
const peak = process.resourceUsage().maxRSS * 1024;
const gib = (b: number) => Number((b / 2 ** 30).toFixed(2));
console.log(
  JSON.stringify({
    layers: config.numLayers,
    params,
    workload: snakeCaseKeys(wl),
    steps,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    peak_rss_gib: gib(peak),
    bytes_per_param: Number((peak / params).toFixed(1)),
    backend_peak_gib: gib(Math.max(...metrics.map((m) => m.memory?.peak_bytes ?? 0))),
    bytes_up_per_step_over_weights: metrics.map((m) => m.transfers.bytes_up / (params * 4)),
    loss: metrics.map((m) => m.loss),
  }),
);
await backend.destroy();
rmSync(out, { recursive: true, force: true });

function readMetrics(file: string): StepMetrics[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepMetrics);
}
