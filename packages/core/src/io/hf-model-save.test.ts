import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { paramSpecs } from '../model/params.js';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { incomingPath } from './atomic.js';
import type { FileIo } from './file-io.js';
import { defaultModelDir, loadHfModel, modelStorageDtype, saveHfModel } from './hf-model.js';
import { SafetensorsFile } from './safetensors.js';
import { bf16ToF32, f16ToF32 } from './safetensors-header.js';
import { INDEX_FILE, SafetensorsModel } from './safetensors-index.js';
import { parseShardSize } from './shard-size.js';
import { freshDirs, expectSameWeights } from '../testing/files.js';

const freshDir = freshDirs('hf-model-save-');

/** Every tensor of a directory's model set as its stored bytes, by name. */
function storedBytes(dir: string): Map<string, Buffer> {
  const m = SafetensorsModel.open(dir);
  const out = new Map(m.names.map((n) => [n, Buffer.from(m.readRaw(n).bytes)]));
  m.close();
  return out;
}

const stories = loadHfModel(defaultModelDir());
const models = {
  stories260K: stories,
  'tiny qwen2': {
    config: tinyModelConfig('qwen2'),
    weights: tinyModelWeights(tinyModelConfig('qwen2'), 4),
  },
  'tiny llama': {
    config: tinyModelConfig('llama'),
    weights: tinyModelWeights(tinyModelConfig('llama'), 5),
  },
};

describe('sharded saves of the small models are bit-equal to an unsharded save', () => {
  for (const [label, { config, weights }] of Object.entries(models)) {
    it(label, () => {
      const single = freshDir();
      expect(saveHfModel(single, config, weights)).toContain('model.safetensors');
      const sharded = freshDir();
      const files = saveHfModel(sharded, config, weights, { maxShardSize: parseShardSize('10KB') });
      const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
      expect(shards.length).toBeGreaterThan(2);
      expect(shards[0]).toBe(
        `model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`,
      );
      expect(files).toContain(INDEX_FILE);
      expect(fs.existsSync(path.join(sharded, 'model.safetensors'))).toBe(false);
      const index = JSON.parse(fs.readFileSync(path.join(sharded, INDEX_FILE), 'utf8'));
      const specs = paramSpecs(config);
      expect(index.metadata.total_size).toBe(
        specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0),
      );
      expect(Object.keys(index.weight_map)).toEqual(specs.map((s) => s.name).sort());
      // every shard within the limit unless it holds a single tensor larger than it
      for (const f of shards) {
        const st = SafetensorsFile.open(path.join(sharded, f));
        const bytes = [...st.tensors.values()].reduce((n, t) => n + t.end - t.begin, 0);
        expect(bytes <= 10_000 || st.tensors.size === 1, f).toBe(true);
        expect(st.metadata).toEqual({ format: 'pt' });
        st.close();
      }
      const a = storedBytes(single);
      const b = storedBytes(sharded);
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [name, bytes] of a) expect(b.get(name)?.equals(bytes), name).toBe(true);
      expectSameWeights(loadHfModel(sharded).weights, weights);
    });
  }
});

describe('--save-dtype bf16 / f16', () => {
  const config = tinyModelConfig('qwen2');
  const weights = tinyModelWeights(config, 6);

  it('bf16: each value is the nearer bf16 neighbour (ties to even), torch_dtype bfloat16, sharded too', () => {
    const dir = freshDir();
    saveHfModel(dir, config, weights, { dtype: 'bf16', maxShardSize: 8192 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe(
      'bfloat16',
    );
    expect(modelStorageDtype(dir)).toBe('bf16');
    const loaded = loadHfModel(dir).weights;
    for (const [name, w] of weights) {
      const got = loaded.get(name) as Float32Array;
      const u = new Uint32Array(w.buffer, w.byteOffset, w.length);
      for (let i = 0; i < w.length; i++) {
        // independent: candidates by truncation and one bf16 ulp up, chosen in f64
        const lo = bf16ToF32(new Uint16Array([u[i] >>> 16]))[0];
        const hi = bf16ToF32(new Uint16Array([(u[i] >>> 16) + 1]))[0];
        const dl = Math.abs(w[i] - lo);
        const dh = Math.abs(hi - w[i]);
        const want = dl < dh || (dl === dh && ((u[i] >>> 16) & 1) === 0) ? lo : hi;
        if (!Object.is(got[i], want))
          throw new Error(`${name}[${i}]: ${w[i]} → ${got[i]}, expected ${want}`);
      }
    }
  });

  it('f16: each value is the nearest f16 (ties to even), torch_dtype float16; overflow is refused by name', () => {
    const dir = freshDir();
    saveHfModel(dir, config, weights, { dtype: 'f16' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe(
      'float16',
    );
    expect(modelStorageDtype(dir)).toBe('f16');
    const grid = f16ToF32(new Uint16Array(0x7c00).map((_, i) => i));
    const loaded = loadHfModel(dir).weights;
    for (const [name, w] of weights) {
      const got = loaded.get(name) as Float32Array;
      for (let i = 0; i < w.length; i++) {
        // independent: the nearest of all finite f16 values (binary search of the grid)
        const a = Math.abs(w[i]);
        let k = 0;
        for (let hi = grid.length - 1; k < hi; ) {
          const mid = (k + hi + 1) >> 1;
          if (grid[mid] <= a) k = mid;
          else hi = mid - 1;
        }
        const pick =
          a - grid[k] < grid[k + 1] - a || (a - grid[k] === grid[k + 1] - a && k % 2 === 0)
            ? grid[k]
            : grid[k + 1];
        const want = w[i] < 0 ? -pick : pick;
        if (!Object.is(got[i], want))
          throw new Error(`${name}[${i}]: ${w[i]} → ${got[i]}, expected ${want}`);
      }
    }
    const huge = new Map(weights);
    const name = paramSpecs(config)[3].name;
    huge.set(
      name,
      (weights.get(name) as Float32Array).map((v, i) => (i === 5 ? 1e5 : v)),
    );
    expect(() => saveHfModel(dir, config, huge, { dtype: 'f16' })).toThrow(
      new RegExp(
        `tensor "${name.replace(/\./g, '\\.')}"\\[5\\] is 100000, beyond the range of F16`,
      ),
    );
    expect(modelStorageDtype(dir)).toBe('f16'); // the previous save is still there
  });

  it('auto (transformers\' dtype="auto"): config.json torch_dtype/dtype, else the first tensor\'s dtype, else f32', () => {
    expect(modelStorageDtype(defaultModelDir())).toBe('f32');
    expect(modelStorageDtype(freshDir())).toBe('f32');
    const dir = freshDir();
    saveHfModel(dir, config, weights, { dtype: 'bf16' });
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    // bf16 tensors, config says float16: the config wins, as in transformers
    fs.writeFileSync(file, JSON.stringify({ ...cfg, torch_dtype: 'float16' }));
    expect(modelStorageDtype(dir)).toBe('f16');
    fs.writeFileSync(file, JSON.stringify({ ...cfg, torch_dtype: undefined, dtype: 'float32' }));
    expect(modelStorageDtype(dir)).toBe('f32');
    // no dtype field at all: the tensors'
    fs.writeFileSync(file, JSON.stringify({ ...cfg, torch_dtype: null }));
    expect(modelStorageDtype(dir)).toBe('bf16');
  });
});

describe('loading reads in chunks', () => {
  it('loadHfModel of a sharded bf16 save never reads more than 4 KiB at once and decodes the same values', () => {
    const dir = freshDir();
    saveHfModel(dir, stories.config, stories.weights, { dtype: 'bf16', maxShardSize: 50_000 });
    let maxRead = 0;
    const io: FileIo = {
      chunkBytes: 4096,
      read: (fd, b, off, len, pos) => {
        maxRead = Math.max(maxRead, len);
        return fs.readSync(fd, b, off, len, pos);
      },
    };
    const chunked = loadHfModel(dir, io).weights;
    expect(maxRead).toBeGreaterThan(0);
    expect(maxRead).toBeLessThanOrEqual(4096);
    expectSameWeights(chunked, loadHfModel(dir).weights);
    expect(fs.existsSync(incomingPath(dir))).toBe(false);
  });
});

describe('parseShardSize (HF max_shard_size)', () => {
  it('reads decimal (1000-based) and binary (1024-based) units, and plain bytes', () => {
    expect(parseShardSize('5GB')).toBe(5e9);
    expect(parseShardSize('500MB')).toBe(5e8);
    expect(parseShardSize('100KB')).toBe(1e5);
    expect(parseShardSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseShardSize('10mib')).toBe(10 * 2 ** 20);
    expect(parseShardSize('1.5GB')).toBe(1.5e9);
    expect(parseShardSize('123456')).toBe(123456);
    expect(parseShardSize(4096)).toBe(4096);
  });
  it('rejects anything else, naming the flag', () => {
    for (const bad of ['5XB', 'GB', '', '-1GB', '0', '0.1B', '5 G B', 'five', 0, -3]) {
      expect(() => parseShardSize(bad as string | number), String(bad)).toThrow(
        /^--max-shard-size: expected a positive size such as 500MB, 5GB, 2GiB, 100KB or a byte count, got /,
      );
    }
  });
});
