/**
 * The model-level measurements: generation (prefill and decode tokens/s, through `rollout`, so a
 * backend's fused generate is what gets timed), training tokens/s (one forward + backward of a
 * micro-batch) and the EM step of the trainer with its per-phase times.
 *
 * Compiling backends (ORT builds one session per graph shape, Dawn one pipeline per kernel) pay
 * for it on first use: each timed call is preceded by an identical untimed one, except on the
 * reference backend, which compiles nothing and is slow enough that a warm-up would double
 * the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  buildBatch,
  globalGradNorm,
  lossAndGrads,
  type ModelWeights,
  RngStream,
  rollout,
  type SamplingParams,
  type StepMetrics,
  uniformAt,
} from '@oneshot-em/core';
import { resolveObjective, train } from '@oneshot-em/core/node';
import type { BenchModel } from './models.js';

/** The sizes of one benchmark: prompts of P tokens, completions of G tokens. */
export interface Workload {
  /** sequences per generation call (prefill/decode rates) */
  genBatch: number;
  /** completions per EM step */
  effectiveBatch: number;
  /** completions per forward/backward (training rate; the EM step accumulates them) */
  microBatch: number;
  promptTokens: number;
  newTokens: number;
}

/** The trainer's defaults (packages/core/src/train/options.ts). */
export const BENCH_SAMPLING: SamplingParams = {
  temperature: 0.5,
  topP: 0.95,
  topK: 0,
  repetitionPenalty: 1.15,
};
export const BENCH_OPTIMIZER = {
  kind: 'adamw' as const,
  lr: 2e-5,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
};
export const BENCH_CLIP = 1;

/** Token ids in [3, V) from the RNG's data stream (0–2 are pad/BOS/EOS in every bench model). */
export function randomRows(
  vocabSize: number,
  rows: number,
  length: number,
  seed: number,
): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from(
      { length },
      (_, t) => 3 + Math.floor((vocabSize - 3) * uniformAt(seed, RngStream.data, r * length + t)),
    ),
  );
}

/** Prompts and fixed-length completions: the EM step's "given" rollouts (also fed to PyTorch). */
export function benchRows(model: BenchModel, count: number, wl: Workload) {
  const prompts = randomRows(model.config.vocabSize, count, wl.promptTokens, 11);
  const completions = randomRows(model.config.vocabSize, count, wl.newTokens, 12);
  return prompts.map((promptIds, b) => ({ promptIds, completionIds: completions[b] }));
}

async function timed<T>(
  backend: Backend,
  warm: boolean,
  run: () => Promise<T>,
): Promise<{ seconds: number; value: T }> {
  if (warm && backend.kind !== 'reference') await run();
  await backend.sync();
  const t0 = performance.now();
  const value = await run();
  await backend.sync();
  return { seconds: (performance.now() - t0) / 1000, value };
}

export interface GenerationResult {
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  /** seconds of a 1-token generation (≈ prefill) and of the full G-token one */
  seconds_g1: number;
  seconds_g: number;
  /** `backend.memory().peakBytes` over these generations (weights included), where reported */
  device_peak_bytes: number | null;
  /**
   * Dawn: command-queue counts per decode step (dispatches, submits, compute passes, copies,
   * bind groups created, readbacks), from the difference of the G- and 1-token generations
   */
  per_decode_step?: Record<string, number>;
}

/**
 * Prefill rate = B·P / t(G = 1); decode rate = B·(G − 1) / (t(G) − t(1)). No EOS, so every
 * sequence runs all G steps.
 */
export async function measureGeneration(
  backend: Backend,
  model: BenchModel,
  w: ModelWeights,
  wl: Workload,
): Promise<GenerationResult> {
  const prompts = randomRows(model.config.vocabSize, wl.genBatch, wl.promptTokens, 11);
  const gen = (G: number) => () =>
    rollout(backend, model.config, w, {
      prompts,
      sampling: BENCH_SAMPLING,
      maxNewTokens: G,
      seed: 42,
      eosIds: [],
      padId: model.padId,
    });
  backend.resetPeakMemory?.();
  const commands = (backend as { commands?: () => Record<string, number> }).commands;
  const c0 = commands?.();
  const one = await timed(backend, true, gen(1));
  const c1 = commands?.();
  const full = await timed(backend, true, gen(wl.newTokens));
  const c2 = commands?.();
  const decodeSeconds = Math.max(full.seconds - one.seconds, 1e-9);
  // timed() runs each generation twice (warm-up, then timed)
  const perStep =
    c0 && c1 && c2 && wl.newTokens > 1
      ? Object.fromEntries(
          Object.keys(c0).map((k) => [
            k,
            (c2[k] - c1[k] - (c1[k] - c0[k])) / 2 / (wl.newTokens - 1),
          ]),
        )
      : undefined;
  return {
    ...(perStep && { per_decode_step: perStep }),
    prefill_tokens_per_s: (wl.genBatch * wl.promptTokens) / one.seconds,
    decode_tokens_per_s: (wl.genBatch * (wl.newTokens - 1)) / decodeSeconds,
    seconds_g1: one.seconds,
    seconds_g: full.seconds,
    device_peak_bytes: backend.memory?.().peakBytes ?? null,
  };
}

export interface TrainingResult {
  train_tokens_per_s: number;
  seconds: number;
  tokens: number;
}

/** One micro-batch of microBatch × (P + G) tokens: forward, token-entropy statistics, backward, grad norm. */
export async function measureTraining(
  backend: Backend,
  model: BenchModel,
  w: ModelWeights,
  wl: Workload,
): Promise<TrainingResult> {
  const objective = await resolveObjective('token-entropy');
  const rows = benchRows(model, wl.microBatch, wl);
  const batch = buildBatch(
    rows.map((r) => r.promptIds),
    rows.map((r) => r.completionIds),
    model.padId,
  );
  const run = async () => {
    const r = await lossAndGrads(backend, model.config, w, batch, objective, model.eosIds);
    // the one scalar read that makes a tracing backend run the backward
    await globalGradNorm(backend, r.grads);
    for (const g of r.grads.values()) backend.dispose(g);
  };
  const { seconds } = await timed(backend, true, run);
  const tokens = batch.B * batch.T;
  return { train_tokens_per_s: tokens / seconds, seconds, tokens };
}

export interface EmStepResult {
  /** the trainer's metrics of the fastest measured step (given completions: rollout ~0) */
  metrics: StepMetrics;
  /** loss/grad + optimizer of that step: what the PyTorch baseline times */
  update_seconds: number;
  /** loss/grad + optimizer of every measured step (the spread shows the machine's noise) */
  update_seconds_all: number[];
  /** the final step's checkpoint (weights + AdamW state) */
  checkpoint_seconds: number;
  /** the process's peak RSS after the step (bench.ts; with --only em-step, the step's own) */
  peak_rss_bytes?: number;
  /** core's memory plan of this step (plan.ts), and peak_rss_bytes / plan.host_bytes */
  plan?: { host_bytes: number; device_bytes: number };
  rss_over_plan?: number;
}

/**
 * The trainer on given completions (effectiveBatch rows in micro-batches, AdamW, clip 1):
 * `warmup` steps where the backend compiles (none on the reference), then `measured` steps;
 * the fastest is reported
 * (the least disturbed by other processes on a shared machine). The last step writes the final
 * checkpoint.
 */
export async function measureEmStep(
  backend: Backend,
  model: BenchModel,
  wl: Workload,
  measured: number,
  warmup = 1,
): Promise<EmStepResult> {
  const objective = await resolveObjective('token-entropy');
  const out = mkdtempSync(join(tmpdir(), 'oneshot-em-bench-'));
  try {
    const steps = measured + (backend.kind === 'reference' ? 0 : warmup);
    const { metrics } = await train(
      backend,
      {
        config: model.config,
        weights: model.weights,
        dir: out,
        eosIds: model.eosIds,
        padId: model.padId,
      },
      objective,
      { kind: 'given', rows: benchRows(model, wl.effectiveBatch, wl) },
      {
        steps,
        effectiveBatch: wl.effectiveBatch,
        microBatch: wl.microBatch,
        sampling: BENCH_SAMPLING,
        maxNewTokens: wl.newTokens,
        optimizer: BENCH_OPTIMIZER,
        clip: BENCH_CLIP,
        seed: 42,
        saveSteps: 0,
        out: join(out, 'run'),
      },
    );
    const timed = metrics.slice(steps - measured);
    const update = (m: StepMetrics) => m['time/loss_grad'] + m['time/optimizer'];
    const best = timed.reduce((a, b) => (update(b) < update(a) ? b : a));
    return {
      metrics: best,
      update_seconds: update(best),
      update_seconds_all: timed.map(update),
      checkpoint_seconds: metrics[metrics.length - 1]['time/checkpoint'],
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
