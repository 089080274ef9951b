/**
 * The `scale` stage: a model shape end to end, as a user's run goes through it — build the
 * weights on the host, one EM step of the trainer on given completions (AdamW, clip 1), the
 * trainer's final checkpoint, a reload of it (`loadHfModel`, and `loadCheckpointState` as
 * `--resume` reads it) and an entropy pass of the reloaded weights (`measureEntropy`), with wall
 * time, the process's peak RSS and the backend's peak tensor bytes per phase.
 *
 * Every phase result is handed to `progress` as soon as it exists, so a run cut off by a time
 * limit or killed for memory still leaves what it measured. `save: false` stops the trainer at
 * its checkpoint phase (the 7B checkpoint, 91 GB with the optimizer state, outgrows a 64 GiB disk).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, buildBatch, measureEntropy, uploadWeights } from '@oneshot-em/core';
import {
  loadCheckpointState,
  loadHfModel,
  type OptimizerOn,
  resolveObjective,
  train,
} from '@oneshot-em/core/node';
import {
  BENCH_CLIP,
  BENCH_OPTIMIZER,
  BENCH_SAMPLING,
  benchRows,
  type Workload,
} from './measure.js';
import { type BenchModel, benchModel } from './models.js';

export const SCALE_PHASES = [
  'build',
  'loss_grad',
  'optimizer',
  'save',
  'reload',
  'reload_optimizer',
  'entropy',
] as const;
export type ScalePhaseName = (typeof SCALE_PHASES)[number];

export interface ScalePhase {
  seconds: number;
  /** the process's peak RSS at the end of the phase (monotone: the peak so far) */
  max_rss_bytes: number;
  /** `backend.memory().peakBytes` within the phase, where the backend reports it */
  device_peak_bytes: number | null;
}

/** planMemory's estimate (packages/core/src/train/memory-plan.ts) for this run's settings. */
export interface ScalePlan {
  host_bytes: number;
  device_bytes: number;
}

export interface ScaleResult {
  params: number;
  /** seconds, RSS and device peak per phase, in the order they ran */
  phases: Partial<Record<ScalePhaseName, ScalePhase>>;
  /** the phase that threw, with `error` */
  failed_phase?: ScalePhaseName;
  error?: string;
  /** the step's loss (mean token entropy at T 0.5 before the update) and gradient norm */
  loss?: number;
  grad_norm?: number;
  /** mean token entropy of the reloaded weights on the same completions */
  entropy_after?: number;
  /** bytes on disk of the final checkpoint (weights, optimizer and trainer state) */
  checkpoint_bytes?: number;
  max_rss_bytes: number;
  /** peak RSS / params: f32 weights + gradients + AdamW m and v are 16 */
  bytes_per_param: number;
  /** the largest device peak of any phase, where reported */
  device_peak_bytes: number | null;
  /** the memory plan; null until tools/bench is wired to core's planMemory */
  plan: ScalePlan | null;
  /** max_rss_bytes / plan.host_bytes (issue 12: within 1.25 on the CPU proxies) */
  rss_over_plan: number | null;
  wall_seconds: number;
  /** micro-batches whose loss/grad has started (a step cut off by a time limit shows how far it got) */
  micro_batches_started: number;
}

export interface ScaleOptions {
  /** false: stop before the trainer's checkpoint (no save, reload or entropy pass) */
  save: boolean;
  progress?: (r: ScaleResult) => void;
  /** the memory plan for this run, computed by the caller (null: not available) */
  plan?: (model: BenchModel) => ScalePlan | null;
  /** where the trainer writes (kept); default a temporary folder, removed at the end */
  dir?: string;
  /** the trainer's optimizerOn (default: the backend's); the 7B stage on Dawn needs 'host' */
  optimizerOn?: OptimizerOn;
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** Thrown from the trainer's checkpoint hook when `save` is false. */
class StopBeforeSave extends Error {}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

export async function measureScale(
  backend: Backend,
  modelName: string,
  wl: Workload,
  opts: ScaleOptions,
): Promise<ScaleResult> {
  const t0 = performance.now();
  const r: ScaleResult = {
    params: 0,
    phases: {},
    max_rss_bytes: 0,
    bytes_per_param: 0,
    device_peak_bytes: null,
    plan: null,
    rss_over_plan: null,
    wall_seconds: 0,
    micro_batches_started: 0,
  };
  const report = () => {
    r.max_rss_bytes = maxRss();
    r.bytes_per_param = r.params > 0 ? r.max_rss_bytes / r.params : 0;
    const peaks = Object.values(r.phases)
      .map((p) => p.device_peak_bytes)
      .filter((b): b is number => b !== null);
    r.device_peak_bytes = peaks.length > 0 ? Math.max(...peaks) : null;
    r.rss_over_plan = r.plan ? r.max_rss_bytes / r.plan.host_bytes : null;
    r.wall_seconds = (performance.now() - t0) / 1000;
    opts.progress?.(r);
  };
  // One phase open at a time: `open` closes the previous one (the trainer's hooks only say
  // where the next phase starts).
  let current: { name: ScalePhaseName; start: number } | null = null;
  const close = () => {
    if (!current) return;
    const prev = r.phases[current.name];
    const seconds = (performance.now() - current.start) / 1000 + (prev?.seconds ?? 0);
    const peak = backend.memory?.().peakBytes ?? null;
    const devicePeak =
      peak === null ? null : Math.max(peak, prev?.device_peak_bytes ?? Number.NEGATIVE_INFINITY);
    r.phases[current.name] = { seconds, max_rss_bytes: maxRss(), device_peak_bytes: devicePeak };
    current = null;
    report();
  };
  const open = (name: ScalePhaseName) => {
    close();
    backend.resetPeakMemory?.();
    current = { name, start: performance.now() };
  };

  const out = opts.dir ?? mkdtempSync(join(tmpdir(), 'oneshot-em-scale-'));
  try {
    open('build');
    const model = benchModel(modelName);
    const { config, eosIds, padId } = model;
    r.params = model.params;
    r.plan = opts.plan?.(model) ?? null;
    const rows = benchRows(model, wl.effectiveBatch, wl);
    const objective = await resolveObjective('token-entropy');
    // the trainer frees the host copy tensor by tensor as it uploads (as the CLI's runs do)
    const hostWeights = model.weights;
    close();

    let finalDir = '';
    try {
      const trained = await train(
        backend,
        { config, weights: hostWeights, dir: out, eosIds, padId, releaseWeights: true },
        objective,
        { kind: 'given', rows },
        {
          steps: 1,
          effectiveBatch: wl.effectiveBatch,
          microBatch: wl.microBatch,
          sampling: BENCH_SAMPLING,
          maxNewTokens: wl.newTokens,
          optimizer: BENCH_OPTIMIZER,
          optimizerOn: opts.optimizerOn,
          clip: BENCH_CLIP,
          seed: 42,
          saveSteps: 0,
          out: join(out, 'run'),
        },
        {
          // given completions: the rollout phase only slices rows, so it counts as loss/grad
          phase: (p) => {
            if (p === 'loss/grad') {
              if (current?.name !== 'loss_grad') open('loss_grad');
              r.micro_batches_started++;
              report();
            } else if (p === 'optimizer') open('optimizer');
            else if (p === 'checkpoint') {
              if (!opts.save) throw new StopBeforeSave();
              open('save');
            }
          },
          step: (m) => {
            r.loss = m.loss;
            r.grad_norm = m.grad_norm;
          },
        },
      );
      finalDir = trained.finalDir;
      close();
    } catch (e) {
      if (!(e instanceof StopBeforeSave)) throw e;
      close();
      return r;
    }
    r.checkpoint_bytes = dirBytes(finalDir);

    open('reload');
    const reloaded = loadHfModel(finalDir);
    close();
    open('reload_optimizer');
    const state = loadCheckpointState(finalDir, reloaded.config);
    if (state.m.size === 0) throw new Error(`${finalDir}: no AdamW state after an AdamW step`);
    close();

    open('entropy');
    const w = uploadWeights(backend, reloaded.config, reloaded.weights);
    const batch = buildBatch(
      rows.map((x) => x.promptIds),
      rows.map((x) => x.completionIds),
      padId,
    );
    const e = await measureEntropy(backend, reloaded.config, w, batch, {
      temperature: 0.5,
      eosIds,
    });
    for (const t of w.values()) backend.dispose(t);
    await backend.sync();
    r.entropy_after = e.meanEntropy;
    close();
    return r;
  } catch (e) {
    // (a cast: TypeScript cannot see that the hooks assign `current`)
    r.failed_phase = (current as { name: ScalePhaseName } | null)?.name;
    r.error = (e as Error).message.split('\n')[0];
    current = null;
    report();
    return r;
  } finally {
    if (!opts.dir) rmSync(out, { recursive: true, force: true });
  }
}
