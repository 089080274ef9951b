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
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { loadCheckpointState, saveCheckpoint, type TrainerState } from './checkpoint.js';
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
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'))).toEqual(
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
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')).step).toBe(2);
  });
});
