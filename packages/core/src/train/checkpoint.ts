import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../backend/tensor-ops.js';
import { writeDirAtomicallyAsync } from '../io/atomic.js';
import type { FileIo } from '../io/file-io.js';
import {
  hfWeightTensors,
  resolveSaveDtype,
  type SaveDtype,
  writeHfConfigFrom,
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
import { LR_SCHEDULER_TYPES, type LrSchedulerType } from './lr-schedule.js';
import { type HfTrainerState, hfTrainerState, sortedKeys } from './hf-trainer-state.js';
import type { OptimizerState } from './optimizer.js';
import { assertRegularFile } from '../io/regular-file.js';

/**
 * A checkpoint directory: the Hugging Face model as save_pretrained writes it for the base
 * (config.json with every field of the base's, weights in the save dtype, single file or shards
 * + index, the base's tokenizer, chat template and generation files unchanged), HF Trainer's
 * `trainer_state.json`, and what `--resume` needs: `oneshot_em_state.json`, the AdamW moments as
 * the tensor set `optimizer` (`exp_avg.<param>`, `exp_avg_sq.<param>`, f32) and, when the
 * weights are saved in bf16/f16, the f32 master weights as the set `master_weights` (resuming
 * from rounded weights would not continue bit for bit). Each set is `<set>.safetensors`, or
 * `<set>-0000i-of-0000n.safetensors` + `<set>.safetensors.index.json`, sharded by the same
 * `maxShardSize`.
 */

export const OPTIMIZER_PREFIX = 'optimizer';
export const OPTIMIZER_FILE = singleFileName(OPTIMIZER_PREFIX);
export const MASTER_WEIGHTS_PREFIX = 'master_weights';
/** HF Trainer's file (its TrainerState): read by tools that know transformers, not by --resume. */
export const TRAINER_STATE_FILE = 'trainer_state.json';
/** Our resume state. Checkpoints before it existed kept it in trainer_state.json (still read). */
export const RESUME_STATE_FILE = 'oneshot_em_state.json';

/** What `--resume` needs besides the tensors: oneshot_em_state.json. */
export interface TrainerState {
  /** optimizer updates completed */
  step: number;
  optimizer: 'adamw' | 'sgd';
  seed: number;
  effective_batch: number;
  micro_batch: number;
  /**
   * rollout rows drawn: row r samples prompt r mod #prompts with the RNG counters from
   * r·max_new_tokens, so the next is step·effective_batch (recorded for readers; checked)
   */
  rollout_rows?: number;
  /** the learning-rate schedule the steps so far followed (its position is `step`) */
  lr_scheduler_type?: LrSchedulerType;
  warmup_steps?: number;
  max_steps?: number;
  /** HF's running total, continued on resume */
  total_flos?: number;
}

/** A trainer_state.json for a state alone (no history): one step per row, nothing logged. */
function minimalHfState(state: TrainerState): HfTrainerState {
  return hfTrainerState({
    globalStep: state.step,
    maxSteps: state.max_steps ?? state.step,
    saveSteps: 0,
    trainBatchSize: state.micro_batch,
    effectiveBatch: state.effective_batch,
    dataRows: state.effective_batch,
    logHistory: [],
    numInputTokensSeen: 0,
    totalFlos: state.total_flos ?? 0,
  });
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
  /** trainer_state.json (default: one with `state`'s step and no history) */
  hfState?: HfTrainerState;
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
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  await writeDirAtomicallyAsync(dir, async (tmp) => {
    writeHfConfigFrom(tmp, copyFrom, config, dtype);
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
    const hf = options.hfState ?? minimalHfState(state);
    writeFileSync(join(tmp, TRAINER_STATE_FILE), json(sortedKeys(hf)));
    writeFileSync(join(tmp, RESUME_STATE_FILE), json(state));
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

function readJson(file: string, what: string): Record<string, unknown> {
  assertRegularFile(file, what);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * The resume state of checkpoint `dir`: oneshot_em_state.json, or — a checkpoint written before
 * it existed — the same fields in trainer_state.json. Every field is checked; errors name the
 * file and the field.
 */
export function readResumeState(dir: string): TrainerState {
  const own = join(dir, RESUME_STATE_FILE);
  const hf = join(dir, TRAINER_STATE_FILE);
  let file = own;
  if (!existsSync(own)) {
    if (!existsSync(hf)) {
      throw new Error(
        `${dir}: not a resumable checkpoint (no ${RESUME_STATE_FILE}; use a step_<N> or final directory of a run)`,
      );
    }
    file = hf;
  }
  const raw = readJson(file, file === own ? RESUME_STATE_FILE : TRAINER_STATE_FILE);
  if (file === hf && !('step' in raw) && 'global_step' in raw) {
    throw new Error(
      `${dir}: has Hugging Face's ${TRAINER_STATE_FILE} but no ${RESUME_STATE_FILE} (the optimizer, seed and batch sizes --resume needs): not a checkpoint of a oneshot-em run`,
    );
  }
  const int = (key: string, min: number) => {
    const v = raw[key];
    if (!Number.isInteger(v) || (v as number) < min)
      throw new Error(
        `${file}: ${key}: expected an integer ≥ ${min}, got ${JSON.stringify(v) ?? 'nothing'}`,
      );
    return v as number;
  };
  const state: TrainerState = {
    step: int('step', 0),
    optimizer: raw.optimizer as TrainerState['optimizer'],
    seed: int('seed', 0),
    effective_batch: int('effective_batch', 1),
    micro_batch: int('micro_batch', 1),
  };
  if (state.optimizer !== 'adamw' && state.optimizer !== 'sgd') {
    throw new Error(
      `${file}: optimizer: expected "adamw" or "sgd", got ${JSON.stringify(raw.optimizer) ?? 'nothing'}`,
    );
  }
  if (raw.rollout_rows !== undefined) {
    state.rollout_rows = int('rollout_rows', 0);
    if (state.rollout_rows !== state.step * state.effective_batch) {
      throw new Error(
        `${file}: rollout_rows ${state.rollout_rows} is not step × effective_batch (${state.step} × ${state.effective_batch}): the file is damaged`,
      );
    }
  }
  if (raw.lr_scheduler_type !== undefined) {
    if (!LR_SCHEDULER_TYPES.includes(raw.lr_scheduler_type as LrSchedulerType)) {
      throw new Error(
        `${file}: lr_scheduler_type: expected one of ${LR_SCHEDULER_TYPES.join(', ')}, got ${JSON.stringify(raw.lr_scheduler_type)}`,
      );
    }
    state.lr_scheduler_type = raw.lr_scheduler_type as LrSchedulerType;
    state.warmup_steps = int('warmup_steps', 0);
    state.max_steps = int('max_steps', 1);
  }
  if (raw.total_flos !== undefined) {
    if (typeof raw.total_flos !== 'number' || !(raw.total_flos >= 0))
      throw new Error(`${file}: total_flos: expected a number ≥ 0`);
    state.total_flos = raw.total_flos;
  }
  return state;
}

/**
 * Reads a checkpoint's resume state, optimizer tensors and — when its weights were saved in
 * bf16/f16 — the f32 master weights to resume from (host f32, one tensor at a time from
 * positioned reads), validating all of them.
 */
export function loadCheckpointState(
  dir: string,
  config: ModelConfig,
  io?: FileIo,
): { state: TrainerState; m: WeightMap; v: WeightMap; masterWeights?: WeightMap } {
  const state = readResumeState(dir);
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

const STEP_DIR = /^step_(\d+)$/;
const DELETING = /^step_\d+\.deleting$/;

/**
 * `--save-total-limit N` (HF's save_total_limit): keeps the N step_<k> checkpoints of `out` with
 * the highest k ≤ `upTo` and deletes the older ones; final/ is never touched, nor a step_<k>
 * past `upTo` (left by the run a resume in place branched from: the resumed run replaces it when
 * it gets there). Call it only after the newest checkpoint is complete (its atomic rename done).
 * Each is first renamed to `step_<k>.deleting`, so a crash mid-delete never leaves a partial
 * step_<k> that looks resumable; leftovers of such a crash are removed here. Returns the deleted
 * directories.
 */
export function rotateCheckpoints(out: string, limit: number, upTo = Infinity): string[] {
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`rotateCheckpoints: limit must be an integer ≥ 1, got ${limit}`);
  const names = readdirSync(out);
  const steps = names
    .map((n) => STEP_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], step: Number(m[1]) }))
    .filter((c) => c.step <= upTo)
    .sort((a, b) => b.step - a.step);
  const deleted: string[] = [];
  for (const { name } of steps.slice(limit)) {
    const dir = join(out, name);
    const doomed = `${dir}.deleting`;
    rmSync(doomed, { recursive: true, force: true });
    renameSync(dir, doomed);
    rmSync(doomed, { recursive: true, force: true });
    deleted.push(dir);
  }
  for (const n of names)
    if (DELETING.test(n)) rmSync(join(out, n), { recursive: true, force: true });
  return deleted;
}
