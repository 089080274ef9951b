import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileIo } from '../io/file-io.js';
import { loadHfModel, saveHfModel } from '../io/hf-model.js';
import { buildSafetensorsHeader } from '../io/safetensors-header.js';
import { paramSpecs, type WeightMap } from '../model/params.js';
import { uploadWeights } from '../model/weights.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { tinyModelConfig, tinyModelWeights, writeTinyModel } from '../testing/fixtures.js';
import {
  loadCheckpointState,
  rotateCheckpoints,
  saveCheckpoint,
  type TrainerState,
} from './checkpoint.js';
import { hfTrainerState, trainSummaryEntry } from './hf-trainer-state.js';
import type { OptimizerState } from './optimizer.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'checkpoint-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const freshDir = () => path.join(root, `ck${count++}`);

const config = tinyModelConfig('qwen2');
const weights = tinyModelWeights(config, 8);
const m = tinyModelWeights(config, 9);
const v = new Map([...tinyModelWeights(config, 10)].map(([k, x]) => [k, x.map(Math.abs)]));
const state: TrainerState = {
  step: 2,
  optimizer: 'adamw',
  seed: 1,
  effective_batch: 2,
  micro_batch: 1,
};

function onBackend(ws: WeightMap = weights, ms: WeightMap = m, vs: WeightMap = v) {
  const backend = createReferenceBackend({ precision: 'f32' });
  const w = uploadWeights(backend, config, ws);
  const opt: OptimizerState = {
    step: 2,
    m: uploadWeights(backend, config, ms),
    v: uploadWeights(backend, config, vs),
  };
  return { backend, w, opt };
}

/** The previous implementation's file: header + every tensor's f32 bytes, built whole. */
function wholeF32File(
  tensors: [string, Float32Array][],
  metadata?: Record<string, string>,
): Buffer {
  const shapes = new Map(paramSpecs(config).map((s) => [s.name, s.shape]));
  const header = buildSafetensorsHeader(
    tensors.map(([name]) => ({
      name,
      dtype: 'F32' as const,
      shape: shapes.get(name.replace(/^exp_avg(_sq)?\./, '')) as number[],
    })),
    metadata,
  );
  return Buffer.concat([
    header.bytes,
    ...tensors.map(([, x]) => new Uint8Array(x.buffer.slice(0))),
  ]);
}

const names = paramSpecs(config).map((s) => s.name);

describe('saveCheckpoint (streamed from the backend)', () => {
  it('f32, unsharded: model.safetensors and optimizer.safetensors are the whole-buffer files bit for bit', async () => {
    const dir = freshDir();
    const { backend, w, opt } = onBackend();
    await saveCheckpoint(dir, backend, config, w, opt, state, root, { saveDtype: 'f32' });
    const model = wholeF32File(
      names.map((n) => [n, weights.get(n) as Float32Array]),
      { format: 'pt' },
    );
    expect(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(model)).toBe(true);
    const optimizer = wholeF32File(
      names.flatMap((n) => [
        [`exp_avg.${n}`, m.get(n) as Float32Array],
        [`exp_avg_sq.${n}`, v.get(n) as Float32Array],
      ]),
    );
    expect(fs.readFileSync(path.join(dir, 'optimizer.safetensors')).equals(optimizer)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'master_weights.safetensors'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'oneshot_em_state.json'), 'utf8'))).toEqual(
      state,
    );
  });

  it('no write exceeds a 4 KiB chunk, and the files equal a save with the default chunk', async () => {
    const a = freshDir();
    const b = freshDir();
    let maxWrite = 0;
    const io: FileIo = {
      chunkBytes: 4096,
      write: (fd, buf, off, len, pos) => {
        maxWrite = Math.max(maxWrite, len);
        return fs.writeSync(fd, buf, off, len, pos);
      },
    };
    const opts = { saveDtype: 'bf16' as const, maxShardSize: 20_000 };
    const x = onBackend();
    await saveCheckpoint(a, x.backend, config, x.w, x.opt, state, root, opts);
    const y = onBackend();
    await saveCheckpoint(b, y.backend, config, y.w, y.opt, state, root, { ...opts, io });
    expect(maxWrite).toBeGreaterThan(0);
    expect(maxWrite).toBeLessThanOrEqual(4096);
    const files = fs.readdirSync(a).sort();
    expect(fs.readdirSync(b).sort()).toEqual(files);
    for (const f of files)
      expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f))), f).toBe(
        true,
      );
  });

  it('bf16 + shards: loadCheckpointState gives back the moments and f32 master weights bit for bit', async () => {
    const dir = freshDir();
    const { backend, w, opt } = onBackend();
    const reads = backend.transfers().reads;
    await saveCheckpoint(dir, backend, config, w, opt, state, root, {
      saveDtype: 'bf16',
      maxShardSize: 10_000,
    });
    // each weight read once for both the bf16 model and the f32 masters; each moment once
    expect(backend.transfers().reads - reads).toBe(3 * names.length);
    const files = fs.readdirSync(dir);
    for (const set of ['model', 'master_weights', 'optimizer'])
      expect(files.filter((f) => f.startsWith(`${set}-`)).length, set).toBeGreaterThan(1);
    const back = loadCheckpointState(dir, config, { chunkBytes: 1024 });
    expect(back.state).toEqual(state);
    for (const [want, got] of [
      [weights, back.masterWeights],
      [m, back.m],
      [v, back.v],
    ] as const) {
      expect([...(got?.keys() ?? [])]).toEqual(names);
      for (const n of names) expect(got?.get(n), n).toEqual(want.get(n));
    }
    expect(loadHfModel(dir).config.torchDtype).toBe('bfloat16');
    // the model's shards are those saveHfModel writes from host weights, byte for byte
    const host = freshDir();
    saveHfModel(host, config, weights, { dtype: 'bf16', maxShardSize: 10_000 });
    const modelFiles = (d: string) =>
      fs
        .readdirSync(d)
        .filter((f) => f.startsWith('model'))
        .sort();
    expect(modelFiles(dir)).toEqual(modelFiles(host));
    for (const f of modelFiles(host))
      expect(
        fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(host, f))),
        f,
      ).toBe(true);
  });

  it('a non-finite moment is refused by name and index; the previous checkpoint stays', async () => {
    const dir = freshDir();
    const good = onBackend();
    await saveCheckpoint(dir, good.backend, config, good.w, good.opt, state, root, {
      saveDtype: 'f32',
    });
    const before = fs.readFileSync(path.join(dir, 'optimizer.safetensors'));
    const name = names[4];
    const bad = new Map(v);
    bad.set(
      name,
      (v.get(name) as Float32Array).map((x, i) => (i === 7 ? Number.POSITIVE_INFINITY : x)),
    );
    const x = onBackend(weights, m, bad);
    await expect(
      saveCheckpoint(dir, x.backend, config, x.w, x.opt, { ...state, step: 3 }, root),
    ).rejects.toThrow(
      `tensor "exp_avg_sq.${name}"[7] is Infinity; refusing to save a non-finite checkpoint`,
    );
    expect(fs.readFileSync(path.join(dir, 'optimizer.safetensors')).equals(before)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'oneshot_em_state.json'), 'utf8')).step).toBe(
      2,
    );
  });
});

/** Every file a transformers save_pretrained of a causal LM and its tokenizer may hold. */
const TOKENIZER_AND_GENERATION_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'generation_config.json',
];

/**
 * A base model directory (tiny qwen2, seed 5) holding every tokenizer and generation file and a
 * config.json with fields this project does not read, stored in `dtype`; `dtypeKey` is how
 * its config.json names the dtype (transformers 5 writes `dtype`).
 */
function baseWithEveryFile(dtype: 'bf16' | 'f32', dtypeKey: 'torch_dtype' | 'dtype') {
  const dir = freshDir();
  const tiny = writeTinyModel(dir, { kind: 'qwen2', seed: 5 });
  saveHfModel(dir, tiny.config, tiny.weights, { dtype, copyFrom: dir });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const torchDtype = cfg.torch_dtype;
  delete cfg.torch_dtype;
  const extended = {
    ...cfg,
    [dtypeKey]: torchDtype,
    transformers_version: '4.56.1',
    bos_token_id: 1,
    sliding_window: 4096,
    layer_types: ['full_attention', 'full_attention'],
    quantization_note: { kept: [1, 2, 3] },
  };
  // 4-space indent: a byte-for-byte copy is told apart from a re-serialisation
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(extended, null, 4));
  const files: Record<string, string> = {
    'special_tokens_map.json': '{"bos_token": "<s>", "eos_token": "</s>"}\n',
    'added_tokens.json': '{"<|im_start|>": 512}\n',
    'vocab.json': '{"a": 0, "b": 1}\n',
    'merges.txt': '#version: 0.2\na b\n',
    'chat_template.jinja': "{{ messages[0]['content'] }}\n",
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return { dir, config: tiny.config, weights: tiny.weights, baseConfig: extended };
}

describe('a checkpoint is what save_pretrained writes for the base', () => {
  for (const dtypeKey of ['torch_dtype', 'dtype'] as const) {
    it(`auto keeps the base's dtype (config.json ${dtypeKey} bfloat16): config.json and every tokenizer/generation file copied byte for byte`, async () => {
      const base = baseWithEveryFile('bf16', dtypeKey);
      const dir = freshDir();
      const { backend, w, opt } = onBackend(base.weights);
      await saveCheckpoint(dir, backend, base.config, w, opt, state, base.dir);
      for (const f of ['config.json', ...TOKENIZER_AND_GENERATION_FILES])
        expect(
          fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(base.dir, f))),
          f,
        ).toBe(true);
      expect(loadHfModel(dir).config.torchDtype).toBe('bfloat16');
      const header = fs.readFileSync(path.join(dir, 'model.safetensors'));
      const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString());
      const dtypes = new Set(
        Object.entries(json).flatMap(([k, t]) =>
          k === '__metadata__' ? [] : [(t as { dtype: string }).dtype],
        ),
      );
      expect([...dtypes]).toEqual(['BF16']);
    });

    it(`--save-dtype f32 of a bf16 base (${dtypeKey}): config.json is the base's with only ${dtypeKey} changed`, async () => {
      const base = baseWithEveryFile('bf16', dtypeKey);
      const dir = freshDir();
      const { backend, w, opt } = onBackend(base.weights);
      await saveCheckpoint(dir, backend, base.config, w, opt, state, base.dir, {
        saveDtype: 'f32',
      });
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(saved).toEqual({ ...base.baseConfig, [dtypeKey]: 'float32' });
      expect(Object.keys(saved)).toEqual(Object.keys(base.baseConfig));
      for (const f of TOKENIZER_AND_GENERATION_FILES)
        expect(
          fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(base.dir, f))),
          f,
        ).toBe(true);
    });
  }

  it('auto follows config.json torch_dtype over the weights (HF dtype="auto"); a base of another model is refused', async () => {
    // f32 weights under a config that says bfloat16: transformers loads, and saves, bf16
    const base = baseWithEveryFile('f32', 'torch_dtype');
    const cfgFile = path.join(base.dir, 'config.json');
    fs.writeFileSync(
      cfgFile,
      JSON.stringify({ ...base.baseConfig, torch_dtype: 'bfloat16' }, null, 4),
    );
    const dir = freshDir();
    const x = onBackend(base.weights);
    await saveCheckpoint(dir, x.backend, base.config, x.w, x.opt, state, base.dir);
    expect(fs.existsSync(path.join(dir, 'master_weights.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'config.json')).equals(fs.readFileSync(cfgFile))).toBe(
      true,
    );
    const other = { ...base.config, numLayers: 1 };
    const y = onBackend(base.weights);
    await expect(
      saveCheckpoint(freshDir(), y.backend, other, y.w, y.opt, state, base.dir),
    ).rejects.toThrow(`${cfgFile}: describes another model than the one being saved`);
  });
});

/** transformers' TrainerState fields (4.52 and later), as its save_to_json writes them. */
const HF_TRAINER_STATE_KEYS = [
  'best_global_step',
  'best_metric',
  'best_model_checkpoint',
  'epoch',
  'eval_steps',
  'global_step',
  'is_hyper_param_search',
  'is_local_process_zero',
  'is_world_process_zero',
  'log_history',
  'logging_steps',
  'max_steps',
  'num_input_tokens_seen',
  'num_train_epochs',
  'save_steps',
  'stateful_callbacks',
  'total_flos',
  'train_batch_size',
  'trial_name',
  'trial_params',
];

describe('trainer_state.json (HF schema) and oneshot_em_state.json (resume)', () => {
  it("trainer_state.json has exactly HF's keys, sorted; oneshot_em_state.json what resume reads", async () => {
    const dir = freshDir();
    const { backend, w, opt } = onBackend();
    const hfState = hfTrainerState({
      globalStep: 2,
      maxSteps: 10,
      saveSteps: 1,
      trainBatchSize: 1,
      effectiveBatch: 2,
      dataRows: 8,
      logHistory: [
        { loss: 0.5, step: 1, epoch: 0.25 },
        { loss: 0.4, step: 2, epoch: 0.5 },
      ],
      numInputTokensSeen: 99,
      totalFlos: 1234,
    });
    await saveCheckpoint(dir, backend, config, w, opt, state, root, { hfState });
    const text = fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8');
    const hf = JSON.parse(text);
    expect(Object.keys(hf)).toEqual(HF_TRAINER_STATE_KEYS);
    expect(hf).toMatchObject({
      global_step: 2,
      max_steps: 10,
      epoch: 0.5, // 2 steps × 2 completions over 8 rows
      num_train_epochs: 3, // ceil(10 steps / 4 steps per epoch)
      logging_steps: 1,
      save_steps: 1,
      train_batch_size: 1,
      num_input_tokens_seen: 99,
      total_flos: 1234,
      best_metric: null,
      trial_name: null,
      is_world_process_zero: true,
      stateful_callbacks: { TrainerControl: { args: { should_training_stop: false } } },
    });
    expect(Object.keys(hf.log_history[0])).toEqual(['epoch', 'loss', 'step']);
    expect(loadCheckpointState(dir, config).state).toEqual(state);
  });

  it('a checkpoint in the old layout (the resume state in trainer_state.json) resumes; an HF-only one is refused clearly', async () => {
    const dir = freshDir();
    const { backend, w, opt } = onBackend();
    await saveCheckpoint(dir, backend, config, w, opt, state, root, { saveDtype: 'f32' });
    fs.rmSync(path.join(dir, 'oneshot_em_state.json'));
    const hfText = fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8');
    expect(() => loadCheckpointState(dir, config)).toThrow(
      `${dir}: has Hugging Face's trainer_state.json but no oneshot_em_state.json`,
    );
    fs.writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify(state));
    const old = loadCheckpointState(dir, config);
    expect(old.state).toEqual(state);
    expect(old.m.get(names[0])).toEqual(m.get(names[0]));
    // a damaged field is named with its file
    fs.writeFileSync(path.join(dir, 'trainer_state.json'), hfText);
    fs.writeFileSync(
      path.join(dir, 'oneshot_em_state.json'),
      JSON.stringify({ ...state, rollout_rows: 5 }),
    );
    expect(() => loadCheckpointState(dir, config)).toThrow(
      /oneshot_em_state\.json: rollout_rows 5 is not step × effective_batch \(2 × 2\)/,
    );
    fs.writeFileSync(
      path.join(dir, 'oneshot_em_state.json'),
      JSON.stringify({ ...state, micro_batch: 0 }),
    );
    expect(() => loadCheckpointState(dir, config)).toThrow(
      /oneshot_em_state\.json: micro_batch: expected an integer ≥ 1, got 0/,
    );
  });

  it('rounds as speed_metrics does, averages the step losses, and leaves out the rates at zero runtime', () => {
    const e = trainSummaryEntry({
      runtimeS: 12.345678,
      stepsRun: 3,
      effectiveBatch: 4,
      totalFlos: 99,
      losses: [1, 2, 4.5],
      epoch: 2,
      step: 3,
    });
    expect(e).toEqual({
      train_runtime: 12.3457,
      train_samples_per_second: 0.972, // 12 / 12.345678 = 0.97200…
      train_steps_per_second: 0.243, // 3 / 12.345678 = 0.24300…
      total_flos: 99,
      train_loss: 2.5,
      epoch: 2,
      step: 3,
    });
    const zero = trainSummaryEntry({
      ...{ runtimeS: 0, stepsRun: 1, effectiveBatch: 1 },
      totalFlos: 0,
      losses: [1],
      epoch: 1,
      step: 1,
    });
    expect(Object.keys(zero).sort()).toEqual([
      'epoch',
      'step',
      'total_flos',
      'train_loss',
      'train_runtime',
    ]);
  });
});

describe('rotateCheckpoints (--save-total-limit)', () => {
  it('keeps the N highest step_<k> and final/, removes leftovers of an interrupted delete', () => {
    const out = freshDir();
    for (const n of ['step_1', 'step_2', 'step_10', 'step_9', 'final', 'step_3.deleting', 'x'])
      fs.mkdirSync(path.join(out, n), { recursive: true });
    fs.writeFileSync(path.join(out, 'step_1', 'model.safetensors'), 'x');
    const deleted = rotateCheckpoints(out, 2);
    expect(deleted.map((d) => path.basename(d)).sort()).toEqual(['step_1', 'step_2']);
    expect(fs.readdirSync(out).sort()).toEqual(['final', 'step_10', 'step_9', 'x']);
    expect(rotateCheckpoints(out, 5)).toEqual([]);
    // resumed in place from step_9: step_10 is the abandoned run's, kept for now; step_9 stays
    expect(rotateCheckpoints(out, 1, 9)).toEqual([]);
    fs.mkdirSync(path.join(out, 'step_8'));
    expect(rotateCheckpoints(out, 1, 9).map((d) => path.basename(d))).toEqual(['step_8']);
    expect(() => rotateCheckpoints(out, 0)).toThrow(/limit must be an integer ≥ 1/);
  });
});
