import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { saveHfModel } from '../io/hf-model.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { buildSafetensorsHeader } from '../io/safetensors-header.js';
import type { ModelConfig } from '../model/config.js';
import { paramSpecs, type WeightMap } from '../model/params.js';
import type { ModelWeights } from '../model/weights.js';
import type { OptimizerState } from './optimizer.js';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

/** What `--resume` needs besides the weights. */
export interface TrainerState {
  /** optimizer updates completed */
  step: number;
  optimizer: 'adamw' | 'sgd';
  seed: number;
  effective_batch: number;
  micro_batch: number;
}

/** The backend's weights → host f32 (the only time weights leave the device). */
export async function readWeights(
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const s of paramSpecs(config)) {
    const t = w.get(s.name);
    if (!t) throw new Error(`readWeights: no tensor for ${s.name}`);
    out.set(s.name, Float32Array.from(await backend.read(t)));
  }
  return out;
}

function safetensorsBytes(
  tensors: { name: string; shape: number[]; values: Float32Array }[],
): Uint8Array {
  const header = buildSafetensorsHeader(
    tensors.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape })),
  );
  const total = header.bytes.length + tensors.reduce((n, t) => n + t.values.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(header.bytes, 0);
  let at = header.bytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), at);
    at += t.values.byteLength;
  }
  return out;
}

/**
 * Writes `<dir>` atomically: an HF model directory (f32, so a resumed run continues bit for bit)
 * plus the optimizer state and trainer state `--resume` reads. Refuses non-finite weights.
 */
export async function saveCheckpoint(
  dir: string,
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights,
  opt: OptimizerState,
  state: TrainerState,
  copyFrom: string,
): Promise<void> {
  const weights = await readWeights(backend, config, w);
  const tensors: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const s of paramSpecs(config)) {
    const m = opt.m.get(s.name);
    const v = opt.v.get(s.name);
    if (m && v) {
      tensors.push({
        name: `exp_avg.${s.name}`,
        shape: s.shape,
        values: Float32Array.from(await backend.read(m)),
      });
      tensors.push({
        name: `exp_avg_sq.${s.name}`,
        shape: s.shape,
        values: Float32Array.from(await backend.read(v)),
      });
    }
  }
  const extraFiles: Record<string, string | Uint8Array> = {
    [TRAINER_STATE_FILE]: `${JSON.stringify(state, null, 2)}\n`,
  };
  if (tensors.length) extraFiles[OPTIMIZER_FILE] = safetensorsBytes(tensors);
  saveHfModel(dir, config, weights, { dtype: 'f32', copyFrom, extraFiles });
}

/** Reads a checkpoint's trainer state and optimizer tensors (host f32), validating both. */
export function loadCheckpointState(
  dir: string,
  config: ModelConfig,
): { state: TrainerState; m: WeightMap; v: WeightMap } {
  const stateFile = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(stateFile)) {
    throw new Error(
      `${dir}: not a resumable checkpoint (no ${TRAINER_STATE_FILE}; use a step_<N> or final directory of a run)`,
    );
  }
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as TrainerState;
  } catch (e) {
    throw new Error(`${stateFile}: not valid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(state.step) || state.step < 0) {
    throw new Error(`${stateFile}: step: expected a non-negative integer`);
  }
  const m: WeightMap = new Map();
  const v: WeightMap = new Map();
  if (state.optimizer === 'adamw') {
    const file = join(dir, OPTIMIZER_FILE);
    if (!existsSync(file)) throw new Error(`${dir}: AdamW checkpoint without ${OPTIMIZER_FILE}`);
    const st = SafetensorsFile.open(file);
    try {
      for (const s of paramSpecs(config)) {
        for (const [map, key] of [
          [m, `exp_avg.${s.name}`],
          [v, `exp_avg_sq.${s.name}`],
        ] as const) {
          const shape = st.info(key).shape;
          if (shape.join(',') !== s.shape.join(',')) {
            throw new Error(
              `${file}: ${key} has shape [${shape.join(', ')}], expected [${s.shape.join(', ')}]`,
            );
          }
          map.set(s.name, st.readF32(key));
        }
      }
    } finally {
      st.close();
    }
  }
  return { state, m, v };
}
