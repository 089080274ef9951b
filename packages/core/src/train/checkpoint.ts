import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../backend/tensor-ops.js';
import { writeDirAtomicallyAsync } from '../io/atomic.js';
import type { FileIo } from '../io/file-io.js';
import {
  hfWeightTensors,
  resolveSaveDtype,
  type SaveDtype,
  writeHfConfig,
  writeHfSideFiles,
} from '../io/hf-model.js';
import type { TensorSource, TensorToWrite } from '../io/safetensors.js';
import {
  hasSafetensorsSet,
  indexFileName,
  MODEL_PREFIX,
  PT_METADATA,
  SafetensorsModel,
  type SetToWrite,
  singleFileName,
  writeSafetensorsSetAsync,
  writeSafetensorsSetsAsync,
} from '../io/safetensors-index.js';
import type { ModelConfig } from '../model/config.js';
import { paramSpecs, type WeightMap } from '../model/params.js';
import type { ModelWeights } from '../model/weights.js';
import type { OptimizerState } from './optimizer.js';
import { assertRegularFile } from '../io/regular-file.js';

/**
 * A checkpoint directory: the Hugging Face model (config.json, weights in the save dtype, single
 * file or shards + index, tokenizer files) plus what `--resume` needs — `trainer_state.json`, the
 * AdamW moments as the tensor set `optimizer` (`exp_avg.<param>`, `exp_avg_sq.<param>`, f32) and,
 * when the weights are saved in bf16/f16, the f32 master weights as the set `master_weights`
 * (resuming from rounded weights would not continue bit for bit). Each set is
 * `<set>.safetensors`, or `<set>-0000i-of-0000n.safetensors` + `<set>.safetensors.index.json`,
 * sharded by the same `maxShardSize`.
 */

export const OPTIMIZER_PREFIX = 'optimizer';
export const OPTIMIZER_FILE = singleFileName(OPTIMIZER_PREFIX);
export const MASTER_WEIGHTS_PREFIX = 'master_weights';
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

/** The backend's weights → host f32, all at once (small models; saves stream instead). */
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

export interface CheckpointOptions {
  /** Storage dtype of the model's weights; `auto` (default): the base model's (`copyFrom`). */
  saveDtype?: SaveDtype | 'auto';
  /** Bytes per shard of every tensor set (default: one file per set). */
  maxShardSize?: number;
  io?: FileIo;
}

/**
 * A tensor to save: on the backend, or already on the host (the offloaded master weights and
 * moments, train/offload.ts: saved as they are, never uploaded).
 */
export type SavedTensor = Tensor | Float32Array;

/** One tensor read from the backend when the writer gets to it, dropped after. */
function fromBackend(backend: Backend, t: SavedTensor | undefined, what: string) {
  return async (): Promise<TensorSource> => {
    if (t === undefined) throw new Error(`saveCheckpoint: no tensor for ${what}`);
    const values = t instanceof Float32Array ? t : await backend.read(t);
    if (!(values instanceof Float32Array))
      throw new Error(`saveCheckpoint: ${what} is not an f32 tensor`);
    return { kind: 'f32', values };
  };
}

/**
 * Writes `<dir>` atomically (see the layout above), streaming tensor by tensor from the backend:
 * each is read, checked finite, converted and written in chunks, then dropped, so the host holds
 * one tensor at a time. Refuses non-finite values (naming the tensor and index) and f16
 * overflow; the previous checkpoint at `dir` is then left as it was.
 */
export async function saveCheckpoint(
  dir: string,
  backend: Backend,
  config: ModelConfig,
  w: ModelWeights | Map<string, SavedTensor>,
  opt:
    | Pick<OptimizerState, 'm' | 'v'>
    | { m: Map<string, SavedTensor>; v: Map<string, SavedTensor> },
  state: TrainerState,
  copyFrom: string,
  options: CheckpointOptions = {},
): Promise<void> {
  const dtype = resolveSaveDtype(options.saveDtype ?? 'auto', copyFrom);
  const set = { maxShardSize: options.maxShardSize, io: options.io };
  const specs = paramSpecs(config);
  const f32 = (name: string, shape: number[], t: SavedTensor | undefined): TensorToWrite => ({
    name,
    dtype: 'F32',
    shape,
    read: fromBackend(backend, t, name),
  });
  const moments: TensorToWrite[] = [];
  for (const s of specs) {
    const m = opt.m.get(s.name);
    const v = opt.v.get(s.name);
    if (m && v) {
      moments.push(f32(`exp_avg.${s.name}`, s.shape, m));
      moments.push(f32(`exp_avg_sq.${s.name}`, s.shape, v));
    }
  }
  await writeDirAtomicallyAsync(dir, async (tmp) => {
    writeHfConfig(tmp, config, dtype);
    const sets: SetToWrite[] = [
      {
        prefix: MODEL_PREFIX,
        tensors: hfWeightTensors(config, dtype, (name) =>
          fromBackend(backend, w.get(name), name)(),
        ),
        options: { ...set, metadata: PT_METADATA },
      },
    ];
    // rounded weights: the f32 masters too, from the same read of each weight
    if (dtype !== 'f32') {
      const masters = specs.map((s) => f32(s.name, s.shape, w.get(s.name)));
      sets.push({ prefix: MASTER_WEIGHTS_PREFIX, tensors: masters, options: set });
    }
    await writeSafetensorsSetsAsync(tmp, sets);
    if (moments.length) await writeSafetensorsSetAsync(tmp, OPTIMIZER_PREFIX, moments, set);
    writeHfSideFiles(tmp, { copyFrom });
    writeFileSync(join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  });
}

/** A set's tensors by name (`<prefix>.<param>` or `<param>`), shapes checked against the config. */
function readSet(
  dir: string,
  prefix: string,
  config: ModelConfig,
  keys: { map: WeightMap; key: (param: string) => string }[],
  io: FileIo | undefined,
): void {
  const st = SafetensorsModel.open(dir, prefix, io);
  try {
    for (const s of paramSpecs(config)) {
      for (const { map, key } of keys) {
        const name = key(s.name);
        const { shape, file } = st.info(name);
        if (shape.join(',') !== s.shape.join(',')) {
          throw new Error(
            `${file}: ${name} has shape [${shape.join(', ')}], expected [${s.shape.join(', ')}]`,
          );
        }
        map.set(s.name, st.readF32(name));
      }
    }
  } finally {
    st.close();
  }
}

/**
 * Reads a checkpoint's trainer state, optimizer tensors and — when its weights were saved in
 * bf16/f16 — the f32 master weights to resume from (host f32, one tensor at a time from
 * positioned reads), validating all of them.
 */
export function loadCheckpointState(
  dir: string,
  config: ModelConfig,
  io?: FileIo,
): { state: TrainerState; m: WeightMap; v: WeightMap; masterWeights?: WeightMap } {
  const stateFile = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(stateFile)) {
    throw new Error(
      `${dir}: not a resumable checkpoint (no ${TRAINER_STATE_FILE}; use a step_<N> or final directory of a run)`,
    );
  }
  let state: TrainerState;
  assertRegularFile(stateFile, TRAINER_STATE_FILE);
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
    if (!hasSafetensorsSet(dir, OPTIMIZER_PREFIX)) {
      throw new Error(
        `${dir}: AdamW checkpoint without ${OPTIMIZER_FILE} or ${indexFileName(OPTIMIZER_PREFIX)}`,
      );
    }
    const keys = [
      { map: m, key: (p: string) => `exp_avg.${p}` },
      { map: v, key: (p: string) => `exp_avg_sq.${p}` },
    ];
    readSet(dir, OPTIMIZER_PREFIX, config, keys, io);
  }
  if (!hasSafetensorsSet(dir, MASTER_WEIGHTS_PREFIX)) {
    const model = SafetensorsModel.open(dir, MODEL_PREFIX, io);
    const rounded = model.names.find((n) => model.info(n).dtype !== 'F32');
    const dtype = rounded === undefined ? undefined : model.info(rounded).dtype;
    model.close();
    if (dtype !== undefined) {
      throw new Error(
        `${dir}: its weights are ${dtype} and it has no ${singleFileName(MASTER_WEIGHTS_PREFIX)} (f32 master weights): --resume cannot continue the run exactly from rounded weights`,
      );
    }
    return { state, m, v };
  }
  const masterWeights: WeightMap = new Map();
  readSet(dir, MASTER_WEIGHTS_PREFIX, config, [{ map: masterWeights, key: (p) => p }], io);
  return { state, m, v, masterWeights };
}
