import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paramSpecs } from '../model/params.js';
import { resolveObjective } from '../objectives/resolve-objective.js';
import { loadCheckpointState } from '../train/checkpoint.js';
import { tinyModelConfig, tinyModelWeights, writeTinyModel } from '../testing/fixtures.js';
import { loadModel } from '../train/load-model.js';
import { loadPrompts } from '../train/prompts.js';
import { loadRollouts } from '../train/rollouts.js';
import { loadTokenizer } from '../tokenizer/load-tokenizer.js';
import { readJsonFile } from './hf-config-file.js';
import { loadHfModel, type SaveDtype, saveHfModel } from './hf-model.js';
import { parseLlama2c } from './llama2c.js';
import { readLlama2cFile, STORIES260K_CHECKPOINT } from './llama2c-stories.js';
import { assertDirectory, assertRegularFile } from './regular-file.js';
import { SafetensorsFile } from './safetensors.js';
import { NonFiniteTensorError } from './safetensors-header.js';
import { SafetensorsModel } from './safetensors-index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-load-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const fresh = () => path.join(root, `d${count++}`);

/** Overwrites element `index` of tensor `name` in a single-file model with raw `bits`. */
function poke(file: string, name: string, index: number, bits: number, bytesPer: number): void {
  const f = SafetensorsFile.open(file);
  const begin = f.info(name).begin;
  f.close();
  const fd = fs.openSync(file, 'r+');
  try {
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, 8, 0);
    const dataStart = 8 + Number(prefix.readBigUInt64LE(0));
    const b = Buffer.alloc(bytesPer);
    if (bytesPer === 4) b.writeUInt32LE(bits >>> 0);
    else b.writeUInt16LE(bits);
    fs.writeSync(fd, b, 0, bytesPer, dataStart + begin + index * bytesPer);
  } finally {
    fs.closeSync(fd);
  }
}

// bit patterns of NaN, +Inf, -Inf in each storage dtype
const PATTERNS: Record<SaveDtype, [string, number][]> = {
  f32: [
    ['NaN', 0x7fc00000],
    ['Infinity', 0x7f800000],
    ['-Infinity', 0xff800000],
  ],
  bf16: [
    ['NaN', 0x7fc0],
    ['Infinity', 0x7f80],
    ['-Infinity', 0xff80],
  ],
  f16: [
    ['NaN', 0x7e00],
    ['Infinity', 0x7c00],
    ['-Infinity', 0xfc00],
  ],
};

describe('non-finite weights are refused at load, naming the file, tensor and index', () => {
  const config = tinyModelConfig('llama');
  const weights = tinyModelWeights(config, 3);
  const target = paramSpecs(config).find((s) => s.name.includes('layers.1.mlp.up_proj'));
  if (target === undefined) throw new Error('fixture has no layers.1.mlp.up_proj');

  for (const dtype of ['f32', 'bf16', 'f16'] as const) {
    for (const [what, bits] of PATTERNS[dtype]) {
      it(`${dtype}: ${what}`, () => {
        const dir = fresh();
        saveHfModel(dir, config, weights, { dtype });
        const file = path.join(dir, 'model.safetensors');
        poke(file, target.name, 37, bits, dtype === 'f32' ? 4 : 2);
        let err: unknown;
        try {
          loadHfModel(dir);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NonFiniteTensorError);
        expect((err as Error).message).toBe(
          `${file}: tensor "${target.name}"[37] is ${what} (non-finite weights: the model file is damaged or was saved from a diverged run)`,
        );
      });
    }
  }

  it('a chunk boundary does not hide the index (bf16, 8-byte chunks)', () => {
    const dir = fresh();
    saveHfModel(dir, config, weights, { dtype: 'bf16' });
    const file = path.join(dir, 'model.safetensors');
    poke(file, target.name, 21, 0x7f80, 2);
    expect(() => loadHfModel(dir, { chunkBytes: 8 })).toThrow(`"${target.name}"[21] is Infinity`);
  });

  it('loadModel (entropy, generate, eval, train) goes through the same check', () => {
    const dir = fresh();
    writeTinyModel(dir, { kind: 'llama', seed: 2 });
    poke(path.join(dir, 'model.safetensors'), target.name, 0, 0x7fc00000, 4);
    expect(() => loadModel(dir)).toThrow(`"${target.name}"[0] is NaN`);
  });

  it('llama2.c checkpoints: a NaN in a layer tensor names it', () => {
    const bytes = new Uint8Array(fs.readFileSync(STORIES260K_CHECKPOINT));
    const view = new DataView(bytes.buffer);
    const [dim, , , , , vocab] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
    // first float of rms_att[layer 0] lies after the header and the token embedding
    const at = 28 + Math.abs(vocab) * dim * 4;
    view.setUint32(at + 4 * 3, 0x7fc00000, true);
    expect(() => parseLlama2c(bytes, 'x.bin')).toThrow(
      'x.bin: tensor "rms_att[layer 0]"[3] is NaN (non-finite weights',
    );
  });
});

describe('llama2.c headers are bounded before any allocation', () => {
  const header = (fields: number[]) => new Uint8Array(new Int32Array(fields).buffer);
  it.each([
    [
      [64, 172, 1e9, 8, 4, 512, 512],
      'header field n_layers = 1000000000; expected an integer in [1, 1024]',
    ],
    [
      [1 << 20, 172, 5, 8, 4, 512, 512],
      'header field dim = 1048576; expected an integer in [1, 65536]',
    ],
    [
      [64, 172, 5, 8, 4, 512, 1 << 30],
      'header field seq_len = 1073741824; expected an integer in [1, 16777216]',
    ],
    [[64, 172, 5, 8, 4, -(1 << 23), 512], 'header field vocab_size = -8388608'],
    [[64, 172, 5, 8, 3, 512, 512], 'n_heads 8 is not a multiple of n_kv_heads 3'],
  ])('%j', (fields, message) => {
    expect(() => parseLlama2c(header(fields), 'h.bin')).toThrow(`h.bin: ${message}`);
  });
  it('the real checkpoint still loads', () => {
    expect(readLlama2cFile(STORIES260K_CHECKPOINT).header.nLayers).toBe(5);
  });
});

describe('only regular files are opened', () => {
  const fifoDir = fresh();
  fs.mkdirSync(fifoDir, { recursive: true });
  const fifo = path.join(fifoDir, 'model.safetensors');
  execFileSync('mkfifo', [fifo]);

  // each of these would block forever in open/read if the FIFO were opened
  it('a FIFO as model.safetensors, a JSON file, rollouts or prompts is refused at once', {
    timeout: 5000,
  }, async () => {
    expect(() => SafetensorsFile.open(fifo)).toThrow(`${fifo}: not a regular file (a FIFO)`);
    expect(() => SafetensorsModel.open(fifoDir)).toThrow(`${fifo}: not a regular file (a FIFO)`);
    expect(() => readJsonFile(fifo)).toThrow(`${fifo}: not a regular file (a FIFO)`);
    const jsonl = path.join(fifoDir, 'r.jsonl');
    if (!fs.existsSync(jsonl)) execFileSync('mkfifo', [jsonl]);
    await expect(loadRollouts(jsonl)).rejects.toThrow(`${jsonl}: not a regular file (a FIFO)`);
    await expect(loadPrompts(jsonl, 'problem')).rejects.toThrow(
      `${jsonl}: not a regular file (a FIFO)`,
    );
    const parquet = path.join(fifoDir, 'p.parquet');
    if (!fs.existsSync(parquet)) execFileSync('mkfifo', [parquet]);
    await expect(loadPrompts(parquet, 'problem')).rejects.toThrow(
      `${parquet}: not a regular file (a FIFO)`,
    );
  });

  it('a FIFO as an objective plugin or a trainer_state.json', { timeout: 5000 }, async () => {
    const plugin = path.join(fifoDir, 'plugin.ts');
    if (!fs.existsSync(plugin)) execFileSync('mkfifo', [plugin]);
    await expect(resolveObjective('./plugin.ts', { cwd: fifoDir })).rejects.toThrow(
      `${plugin}: not a regular file (a FIFO); expected an objective plugin file as a regular file`,
    );
    const state = path.join(fifoDir, 'trainer_state.json');
    if (!fs.existsSync(state)) execFileSync('mkfifo', [state]);
    expect(() => loadCheckpointState(fifoDir, tinyModelConfig('llama'))).toThrow(
      `${state}: not a regular file (a FIFO)`,
    );
  });

  it('a FIFO as config.json or tokenizer.json in a model directory', { timeout: 5000 }, () => {
    const dir = fresh();
    writeTinyModel(dir, { kind: 'llama', seed: 1 });
    for (const name of ['tokenizer.json']) {
      fs.rmSync(path.join(dir, name));
      execFileSync('mkfifo', [path.join(dir, name)]);
    }
    expect(() => loadTokenizer(dir)).toThrow(`${dir}/tokenizer.json: not a regular file (a FIFO)`);
    fs.rmSync(path.join(dir, 'config.json'));
    execFileSync('mkfifo', [path.join(dir, 'config.json')]);
    expect(() => loadHfModel(dir)).toThrow(`${dir}/config.json: not a regular file (a FIFO)`);
  });

  it('a device, a directory where a file is expected, and a file where a directory is', () => {
    expect(() => assertRegularFile('/dev/null', 'a rollouts file')).toThrow(
      '/dev/null: not a regular file (a character device); expected a rollouts file as a regular file',
    );
    expect(() => assertRegularFile(root)).toThrow(`${root}: not a regular file (a directory)`);
    const file = path.join(root, 'plain.txt');
    fs.writeFileSync(file, 'x');
    expect(() => assertDirectory(file, 'a model directory')).toThrow(
      `${file}: not a directory (a regular file); expected a model directory`,
    );
    expect(() => loadHfModel(file)).toThrow(`${file}: not a directory (a regular file)`);
  });
});
