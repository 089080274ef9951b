import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { paramCount, type WeightMap } from '../model/params.js';
import { resolveObjective } from '../objectives/resolve-objective.js';
import type { StepMetrics } from '../train/metrics.js';
import type { TrainerSettings } from '../train/trainer.js';
import { train } from '../train/trainer.js';
import { tinyModelConfig, tinyModelWeights } from './fixtures.js';

/**
 * Short runs of the tiny Qwen2 with the optimizer on the host or the device (the offload tests
 * of the reference backend and of Dawn): given rollouts, so the run is the same on both sides
 * up to the optimizer, f32 checkpoints every step.
 */
export const OFFLOAD_CONFIG = tinyModelConfig('qwen2');
export const OFFLOAD_PARAMS = paramCount(OFFLOAD_CONFIG);

const rows = [
  { promptIds: [1, 40, 41, 42], completionIds: [7, 8, 9, 10, 11, 12] },
  { promptIds: [1, 50, 51, 52], completionIds: [13, 14, 15, 16, 17, 18] },
];

export interface OffloadRun {
  out: string;
  metrics: StepMetrics[];
  /** the caller's weight map after the run (emptied when released) */
  weights: WeightMap;
}

export async function offloadRun(
  backend: Backend,
  over: Partial<TrainerSettings> & { releaseWeights?: boolean } = {},
): Promise<OffloadRun> {
  const out = mkdtempSync(join(tmpdir(), 'oneshot-offload-'));
  const weights = tinyModelWeights(OFFLOAD_CONFIG, 3);
  const { releaseWeights, ...settings } = over;
  const { metrics } = await train(
    backend,
    { config: OFFLOAD_CONFIG, weights, dir: out, eosIds: [2], padId: 0, releaseWeights },
    await resolveObjective('token-entropy'),
    { kind: 'given', rows },
    {
      steps: 3,
      effectiveBatch: 4,
      microBatch: 2,
      sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      maxNewTokens: 6,
      optimizer: {
        kind: 'adamw',
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
      },
      clip: 1,
      seed: 7,
      saveSteps: 1,
      saveDtype: 'f32',
      out: join(out, 'run'),
      ...settings,
    },
  );
  return { out: join(out, 'run'), metrics, weights };
}

/** A checkpoint file's bytes (model.safetensors, optimizer.safetensors, …). */
export function checkpointBytes(run: OffloadRun, step: string, file: string): Buffer {
  return readFileSync(join(run.out, step, file));
}
