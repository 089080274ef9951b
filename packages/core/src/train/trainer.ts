import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { SaveDtype } from '../io/hf-model.js';
import type { SamplingParams } from '../backend/tensor-ops.js';
import type { ModelGrads } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { EMBED, numel, paramSpecs, type WeightMap } from '../model/params.js';
import { type ModelWeights, uploadWeights } from '../model/weights.js';
import type { ResolvedObjective } from '../objectives/resolve-objective.js';
import { buildBatch } from './batch.js';
import { HostOptimizer } from './host-optimizer/pool.js';
import { rotateCheckpoints, saveCheckpoint, type TrainerState } from './checkpoint.js';
import { hfTrainerState, type LogEntry, trainSummaryEntry } from './hf-trainer-state.js';
import { lossAndGrads } from './loss-and-grads.js';
import { type LrSchedule, scheduledLr } from './lr-schedule.js';
import { completionStats, readStepMetrics, runSvg, type StepMetrics } from './metrics.js';
import {
  createHostOptimizerState,
  defaultOptimizerOn,
  type HostOptimizerState,
  hostOptimizerUpdate,
  type OptimizerOn,
  trainerOffloads,
} from './offload.js';
import {
  clipFactor,
  createOptimizerState,
  globalGradNorm,
  type OptimizerConfig,
  optimizerUpdate,
} from './optimizer.js';
import { rollout } from './rollout.js';

/** Where completions come from: sampled from prompts (the paper) or given (`--rollouts`). */
export type RolloutSource =
  | { kind: 'sample'; prompts: number[][] }
  | { kind: 'given'; rows: { promptIds: number[]; completionIds: number[] }[] };

export interface TrainerModel {
  config: ModelConfig;
  weights: WeightMap;
  /** the directory whose tokenizer and generation files each checkpoint copies */
  dir: string;
  eosIds: number[];
  padId: number;
  /**
   * train() deletes each entry of `weights` once it is on the backend, so the caller's host
   * copy can be freed (4 bytes/parameter less at the peak); the map is empty afterwards.
   */
  releaseWeights?: boolean;
}

export interface TrainerSettings {
  steps: number;
  effectiveBatch: number;
  microBatch: number;
  sampling: SamplingParams;
  maxNewTokens: number;
  optimizer: OptimizerConfig;
  /**
   * Where the f32 master weights and optimizer state live (default: ORT 'host', where it is
   * inherent; else 'device'). 'host' on Dawn/reference: offload.ts (no m, v on the device).
   */
  optimizerOn?: OptimizerOn;
  /** global-norm clip; 0 disables */
  clip: number;
  seed: number;
  /** 0: only the final checkpoint */
  saveSteps: number;
  /** keep only this many step_<N> checkpoints, the most recent (default: all); final/ stays */
  saveTotalLimit?: number;
  /**
   * the rate of each update: `optimizer.lr` times the schedule's multiplier (lr-schedule.ts);
   * default constant. Its position is the step, so a resumed run continues it.
   */
  lrSchedule?: LrSchedule;
  out: string;
  /** storage dtype of checkpoint weights (default auto: the base model's, `model.dir`) */
  saveDtype?: SaveDtype | 'auto';
  /** bytes per safetensors shard of every checkpoint (default: one file per tensor set) */
  maxShardSize?: number;
  /**
   * resume: the state and optimizer tensors of a checkpoint whose weights `model` holds; its
   * f32 master weights, when saved (bf16/f16 checkpoints), replace `model.weights`
   */
  resume?: { state: TrainerState; m: WeightMap; v: WeightMap; masterWeights?: WeightMap };
}

export interface TrainerHooks {
  phase?(phase: 'rollout' | 'loss/grad' | 'optimizer' | 'checkpoint', step: number): void;
  step?(metrics: StepMetrics): void;
}

/** The training numbers of a metrics line, HF log_history style (NaN, unknown, as null). */
const LOGGED = [
  'loss',
  'grad_norm',
  'learning_rate',
  'entropy',
  'num_tokens',
  'completions/mean_length',
  'completions/min_length',
  'completions/max_length',
  'completions/clipped_ratio',
  'step',
] as const;
function logEntry(m: Partial<Record<(typeof LOGGED)[number], number>>): LogEntry {
  const e: LogEntry = {};
  for (const k of LOGGED) {
    const v = m[k];
    e[k] = v === undefined || !Number.isFinite(v) ? null : v;
  }
  return e;
}

/** A non-finite loss or gradient: the run stops before anything is saved for that step. */
export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    what: string,
  ) {
    super(`step ${step}: ${what} not finite; stopping without saving this step (lower --lr?)`);
    this.name = 'NonFiniteError';
  }
}

function addInto(backend: Backend, acc: ModelGrads | undefined, grads: ModelGrads): ModelGrads {
  if (!acc) return grads;
  for (const [name, g] of grads) {
    const a = acc.get(name);
    if (!a) throw new Error(`trainer: gradient ${name} missing from the accumulator`);
    // in place where the backend can (no third gradient set at the peak)
    if (backend.accumulate) backend.accumulate(a, g);
    else {
      acc.set(name, backend.add(a, g));
      backend.dispose(a);
    }
    backend.dispose(g);
  }
  return acc;
}

/**
 * One-shot EM (docs/architecture.md#training-semantics). A step is one optimizer update over `effectiveBatch` completions,
 * `microBatch` at a time; gradients are averaged over micro-batches (the reference divides each
 * micro-batch loss by the accumulation count), clipped by global L2 norm, then AdamW/SGD.
 * Rollout row r of the run (r = (step−1)·effectiveBatch + i) uses prompt r mod #prompts and
 * the RNG counters from r·maxNewTokens, so a resumed run draws exactly what the uninterrupted
 * run would have.
 */
export async function train(
  backend: Backend,
  model: TrainerModel,
  objective: ResolvedObjective,
  source: RolloutSource,
  s: TrainerSettings,
  hooks: TrainerHooks = {},
): Promise<{ metrics: StepMetrics[]; finalDir: string }> {
  const { config } = model;
  const offload = trainerOffloads(backend.kind, s.optimizerOn ?? defaultOptimizerOn(backend.kind));
  const start = s.resume?.masterWeights ?? model.weights;
  // Offloaded, the master keeps the host arrays (adopted when released): the only host copy;
  // the device may then keep only a compute copy of the matrices (Dawn's --dtype bf16|f16).
  const w: ModelWeights = uploadWeights(backend, config, start, {
    release: !offload && (model.releaseWeights ?? false),
    uploaded: offload ? (t) => backend.keepComputeCopyOnly?.(t) : undefined,
  });
  const opt = createOptimizerState(backend, config, s.optimizer.kind, { onDevice: !offload });
  let host: HostOptimizerState | undefined;
  if (offload) {
    host = createHostOptimizerState(config, s.optimizer.kind, start, {
      adopt: (model.releaseWeights ?? false) || start === s.resume?.masterWeights,
      moments: s.resume && { m: s.resume.m, v: s.resume.v },
      step: s.resume?.state.step,
    });
  }
  const pool = offload ? new HostOptimizer() : undefined;
  let first = 1;
  if (s.resume) {
    const r = s.resume;
    if (r.state.optimizer !== s.optimizer.kind) {
      throw new Error(
        `resume: the checkpoint used --optimizer ${r.state.optimizer}, this run ${s.optimizer.kind}`,
      );
    }
    if (
      r.state.effective_batch !== s.effectiveBatch ||
      r.state.micro_batch !== s.microBatch ||
      r.state.seed !== s.seed
    ) {
      throw new Error(
        `resume: effective_batch/micro_batch/seed must match the checkpoint (${r.state.effective_batch}/${r.state.micro_batch}/${r.state.seed})`,
      );
    }
    for (const [name, values] of offload ? [] : r.m) {
      backend.dispose(opt.m.get(name)!);
      opt.m.set(name, backend.upload(values, [values.length]));
    }
    for (const [name, values] of offload ? [] : r.v) {
      backend.dispose(opt.v.get(name)!);
      opt.v.set(name, backend.upload(values, [values.length]));
    }
    opt.step = r.state.step;
    first = r.state.step + 1;
  }
  mkdirSync(s.out, { recursive: true });
  const metricsFile = join(s.out, 'metrics.jsonl');
  const all: StepMetrics[] = [];
  if (!s.resume) writeFileSync(metricsFile, '');
  else if (existsSync(metricsFile)) {
    // keep the steps before the checkpoint, drop any logged after it (they are redone)
    for (const line of readFileSync(metricsFile, 'utf8').split('\n')) {
      if (line.trim()) all.push(readStepMetrics(JSON.parse(line), all.at(-1)?.num_tokens));
    }
    all.splice(0, all.length, ...all.filter((m) => m.step < first));
    writeFileSync(metricsFile, all.map((m) => `${JSON.stringify(m)}\n`).join(''));
  }
  const microCount = s.effectiveBatch / s.microBatch;
  const schedule: LrSchedule = s.lrSchedule ?? {
    type: 'constant',
    warmupSteps: 0,
    maxSteps: s.steps,
  };
  // HF's estimate: 6 · non-embedding parameters · input tokens (padded), summed over the run
  const flopsPerToken =
    6 *
    paramSpecs(config)
      .filter((p) => p.name !== EMBED)
      .reduce((n, p) => n + numel(p.shape), 0);
  let totalFlos = s.resume?.state.total_flos ?? 0;
  const dataRows = source.kind === 'sample' ? source.prompts.length : source.rows.length;
  const state = (step: number): TrainerState => ({
    step,
    optimizer: s.optimizer.kind,
    seed: s.seed,
    effective_batch: s.effectiveBatch,
    micro_batch: s.microBatch,
    rollout_rows: step * s.effectiveBatch,
    lr_scheduler_type: schedule.type,
    warmup_steps: schedule.warmupSteps,
    max_steps: schedule.maxSteps,
    total_flos: totalFlos,
  });
  const finalDir = join(s.out, 'final');
  // HF's train_runtime: this process's training, from its first step to its last update
  const runStart = performance.now();

  for (let step = first; step <= s.steps; step++) {
    const t0 = performance.now();
    const before = backend.transfers();
    backend.resetPeakMemory?.();
    let tRollout = 0;
    let tLoss = 0;
    let tokens = 0;
    let promptTokens = 0;
    const stepCompletions: number[][] = [];
    let lossSum = 0;
    let entropySum = 0;
    let grads: ModelGrads | undefined;
    for (let k = 0; k < microCount; k++) {
      const row0 = (step - 1) * s.effectiveBatch + k * s.microBatch;
      hooks.phase?.('rollout', step);
      const ta = performance.now();
      let prompts: number[][];
      let completions: number[][];
      if (source.kind === 'sample') {
        prompts = Array.from(
          { length: s.microBatch },
          (_, b) => source.prompts[(row0 + b) % source.prompts.length],
        );
        const r = await rollout(backend, config, w, {
          prompts,
          sampling: s.sampling,
          maxNewTokens: s.maxNewTokens,
          seed: s.seed,
          eosIds: model.eosIds,
          padId: model.padId,
          counterBase: row0 * s.maxNewTokens,
        });
        completions = r.completions;
      } else {
        const rows = Array.from(
          { length: s.microBatch },
          (_, b) => source.rows[(row0 + b) % source.rows.length],
        );
        prompts = rows.map((r) => r.promptIds);
        completions = rows.map((r) => r.completionIds);
      }
      const tb = performance.now();
      tRollout += tb - ta;
      hooks.phase?.('loss/grad', step);
      const batch = buildBatch(prompts, completions, model.padId);
      tokens += completions.reduce((n, c) => n + c.length, 0);
      totalFlos += flopsPerToken * batch.B * batch.T;
      promptTokens += prompts.reduce((n, p) => n + p.length, 0);
      stepCompletions.push(...completions);
      const r = await lossAndGrads(backend, config, w, batch, objective, model.eosIds);
      lossSum += r.loss;
      entropySum += r.metrics.entropy ?? Number.NaN;
      grads = addInto(backend, grads, r.grads);
      tLoss += performance.now() - tb;
    }
    if (!grads) throw new Error('trainer: no micro-batches');
    const loss = lossSum / microCount;
    if (!Number.isFinite(loss)) throw new NonFiniteError(step, `the loss (${loss}) is`);
    // Gradients were summed over micro-batches: the mean is sum / microCount. Its norm is the
    // first read of the gradients, so it belongs to loss/grad: a lazy backend (ORT) runs the
    // backward here.
    const tn = performance.now();
    const gradNorm = (await globalGradNorm(backend, grads)) / microCount;
    tLoss += performance.now() - tn;
    if (!Number.isFinite(gradNorm))
      throw new NonFiniteError(step, `the gradient norm (${gradNorm}) is`);
    hooks.phase?.('optimizer', step);
    const tc = performance.now();
    const gradScale = clipFactor(gradNorm, s.clip) / microCount;
    const lr = scheduledLr(s.optimizer.lr, schedule, step);
    const cfg = { ...s.optimizer, lr };
    if (host && pool) await hostOptimizerUpdate(backend, w, grads, host, cfg, gradScale, pool);
    else optimizerUpdate(backend, w, grads, opt, cfg, gradScale);
    for (const g of grads.values()) backend.dispose(g);
    // An absurd learning rate can overflow the weights with a finite gradient: one reduction
    // over all parameters catches it before anything is saved.
    const weightNorm = await globalGradNorm(backend, w);
    if (!Number.isFinite(weightNorm))
      throw new NonFiniteError(step, 'the weights after the update are');
    await backend.sync();
    const td = performance.now();
    const trained = {
      loss,
      entropy: entropySum / microCount,
      grad_norm: gradNorm,
      learning_rate: lr,
      // TRL's GRPO count: prompt + completion tokens (unpadded), cumulative over the run
      num_tokens: (all.at(-1)?.num_tokens ?? 0) + promptTokens + tokens,
      ...completionStats(stepCompletions, model.eosIds),
    };
    const dirs: string[] = [];
    if (s.saveSteps > 0 && step % s.saveSteps === 0) dirs.push(join(s.out, `step_${step}`));
    if (step === s.steps) dirs.push(finalDir);
    for (const dir of dirs) {
      hooks.phase?.('checkpoint', step);
      // offloaded: the host master and moments are saved as they are (nothing read back)
      const saved = host ? { weights: host.master, m: host.m, v: host.v } : { weights: w, ...opt };
      const epochOf = (n: number) => n * (s.effectiveBatch / dataRows);
      const logHistory = [...all.map(logEntry), logEntry({ step, ...trained })].map(
        (e): LogEntry => ({
          ...e,
          epoch: epochOf(e.step ?? 0),
        }),
      );
      // HF appends its end-of-training summary after the last step checkpoint: final/ only
      if (dir === finalDir) {
        logHistory.push(
          trainSummaryEntry({
            runtimeS: (td - runStart) / 1000,
            stepsRun: step - first + 1,
            effectiveBatch: s.effectiveBatch,
            totalFlos,
            losses: logHistory.flatMap((e) => (typeof e.loss === 'number' ? [e.loss] : [])),
            epoch: epochOf(step),
            step,
          }),
        );
      }
      const hfState = hfTrainerState({
        globalStep: step,
        maxSteps: s.steps,
        saveSteps: s.saveSteps,
        trainBatchSize: s.microBatch,
        effectiveBatch: s.effectiveBatch,
        dataRows,
        logHistory,
        numInputTokensSeen: trained.num_tokens,
        totalFlos,
      });
      await saveCheckpoint(dir, backend, config, saved.weights, saved, state(step), model.dir, {
        saveDtype: s.saveDtype,
        maxShardSize: s.maxShardSize,
        hfState,
      });
      // only once the new checkpoint is complete (saveCheckpoint returns after its rename)
      if (s.saveTotalLimit !== undefined && dir !== finalDir)
        rotateCheckpoints(s.out, s.saveTotalLimit, step);
    }
    const tSave = performance.now() - td;
    const total = (performance.now() - t0) / 1000;
    const after = backend.transfers();
    const memory = backend.memory?.();
    const m: StepMetrics = {
      step,
      ...trained,
      tokens_per_s: tokens / ((tRollout + tLoss) / 1000 || 1),
      step_time: total,
      'time/rollout': tRollout / 1000,
      'time/loss_grad': tLoss / 1000,
      'time/optimizer': (td - tc) / 1000,
      'time/checkpoint': tSave / 1000,
      transfers: {
        bytes_up: after.bytesUp - before.bytesUp,
        bytes_down: after.bytesDown - before.bytesDown,
      },
      ...(memory && { memory: { live_bytes: memory.liveBytes, peak_bytes: memory.peakBytes } }),
    };
    all.push(m);
    appendFileSync(metricsFile, `${JSON.stringify(m)}\n`);
    writeFileSync(join(s.out, 'run.svg'), runSvg(all));
    hooks.step?.(m);
  }
  for (const t of [...w.values(), ...opt.m.values(), ...opt.v.values()]) backend.dispose(t);
  await pool?.destroy();
  return { metrics: all, finalDir };
}
