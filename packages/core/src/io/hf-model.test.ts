import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LM_HEAD, paramSpecs } from '../model/params.js';
import { tinyModelConfig, tinyModelWeights, writeTinyModel } from '../testing/fixtures.js';
import { incomingPath, previousPath, recoverInterruptedWrite } from './atomic.js';
import { modelConfigToHfJson } from './hf-config.js';
import { defaultModelDir, loadHfModel, saveHfModel } from './hf-model.js';
import { llama2cToModel, parseLlama2c, toHalfRope } from './llama2c.js';
import { f32TensorToWrite } from './safetensors.js';
import { bf16ToF32, f32ToBf16, SafetensorsError } from './safetensors-header.js';
import { INDEX_FILE, writeSafetensorsModel } from './safetensors-index.js';
import { freshDirs, expectSameWeights } from '../testing/files.js';

const freshDir = freshDirs('hf-model-test-');

describe('saveHfModel', () => {
  const config = tinyModelConfig('llama');
  const weights = tinyModelWeights(config, 11);

  it('writes bf16 (rounded to nearest even) with torch_dtype bfloat16', () => {
    const dir = freshDir();
    saveHfModel(dir, config, weights, { dtype: 'bf16' });
    const loaded = loadHfModel(dir);
    expect(loaded.config.torchDtype).toBe('bfloat16');
    const rounded = new Map([...weights].map(([n, v]) => [n, bf16ToF32(f32ToBf16(v))]));
    expectSameWeights(loaded.weights, rounded);
  });

  it('shards past maxShardBytes with an index, and the sharded directory loads', () => {
    const dir = freshDir();
    const files = saveHfModel(dir, config, weights, { maxShardSize: 40_000 });
    expect(files).toContain(INDEX_FILE);
    expect(
      files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length,
    ).toBeGreaterThan(2);
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
    expectSameWeights(loadHfModel(dir).weights, weights);
  });

  it('copies the tokenizer and generation files from copyFrom', () => {
    const src = freshDir();
    writeTinyModel(src, { kind: 'llama', seed: 1 });
    fs.writeFileSync(path.join(src, 'tokenizer.model'), 'sentencepiece bytes');
    const dir = freshDir();
    const files = saveHfModel(dir, config, weights, { copyFrom: src });
    for (const f of [
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'tokenizer.model',
    ]) {
      expect(files).toContain(f);
      expect(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(src, f))), f).toBe(
        true,
      );
    }
    expect(files).not.toContain('special_tokens_map.json');
  });

  it('writes extra files (replacing copied ones) and refuses paths outside the directory', () => {
    const src = freshDir();
    writeTinyModel(src, { kind: 'llama', seed: 1 });
    const dir = freshDir();
    saveHfModel(dir, config, weights, {
      copyFrom: src,
      extraFiles: {
        'generation_config.json': '{"do_sample": true}',
        'notes/run.txt': new Uint8Array([104, 105]),
      },
    });
    expect(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8')).toBe(
      '{"do_sample": true}',
    );
    expect(fs.readFileSync(path.join(dir, 'notes', 'run.txt'), 'utf8')).toBe('hi');
    expect(() =>
      saveHfModel(dir, config, weights, { extraFiles: { '../escape.txt': 'x' } }),
    ).toThrow(/outside the model directory/);
    expect(fs.existsSync(path.join(path.dirname(dir), 'escape.txt'))).toBe(false);
  });

  it('saves over the directory it copies from (training in place)', () => {
    const dir = freshDir();
    writeTinyModel(dir, { kind: 'llama', seed: 1 });
    const tokenizer = fs.readFileSync(path.join(dir, 'tokenizer.json'));
    saveHfModel(dir, config, weights, { copyFrom: dir });
    expect(fs.readFileSync(path.join(dir, 'tokenizer.json')).equals(tokenizer)).toBe(true);
    expectSameWeights(loadHfModel(dir).weights, weights);
  });

  it('refuses missing, mis-sized, unknown and non-finite weights', () => {
    const without = new Map(weights);
    without.delete('model.norm.weight');
    expect(() => saveHfModel(freshDir(), config, without)).toThrow(
      /"model.norm.weight" \[32\] is missing/,
    );
    const short = new Map(weights).set('model.norm.weight', new Float32Array(3));
    expect(() => saveHfModel(freshDir(), config, short)).toThrow(
      /has 3 values, shape \[32\] needs 32/,
    );
    const extra = new Map(weights).set('model.layers.9.mlp.up_proj.weight', new Float32Array(1));
    expect(() => saveHfModel(freshDir(), config, extra)).toThrow(/not a parameter/);
    const nan = new Map(weights).set('model.norm.weight', new Float32Array(32).fill(Number.NaN));
    expect(() => saveHfModel(freshDir(), config, nan)).toThrow(/non-finite/);
  });
});

describe('atomic checkpoints', () => {
  const config = tinyModelConfig('qwen2');
  const oldWeights = tinyModelWeights(config, 1);
  const newWeights = tinyModelWeights(config, 2);

  it('a save that fails mid-write leaves the previous checkpoint loadable and no debris', () => {
    const dir = freshDir();
    saveHfModel(dir, config, oldWeights);
    // copyFrom whose tokenizer.json is a directory: copying it fails after model.safetensors is written.
    const badSource = freshDir();
    fs.mkdirSync(path.join(badSource, 'tokenizer.json'), { recursive: true });
    expect(() => saveHfModel(dir, config, newWeights, { copyFrom: badSource })).toThrow();
    expectSameWeights(loadHfModel(dir).weights, oldWeights);
    expect(fs.existsSync(incomingPath(dir))).toBe(false);
    saveHfModel(dir, config, newWeights);
    expectSameWeights(loadHfModel(dir).weights, newWeights);
    expect(fs.existsSync(previousPath(dir))).toBe(false);
  });

  it('a crash between the two renames is undone: the previous checkpoint comes back', () => {
    const dir = freshDir();
    saveHfModel(dir, config, oldWeights);
    // The state a crash after "target → .previous" leaves: no target, a complete .previous and .incoming.
    saveHfModel(incomingPath(dir), config, newWeights);
    fs.renameSync(dir, previousPath(dir));
    expect(() => loadHfModel(dir)).toThrow(
      /interrupted and left the previous checkpoint at .*\.previous/,
    );
    expect(recoverInterruptedWrite(dir)).toBe(true);
    expectSameWeights(loadHfModel(dir).weights, oldWeights);
    expect(fs.existsSync(incomingPath(dir)) || fs.existsSync(previousPath(dir))).toBe(false);
  });

  it('a stale .incoming from a crash during writing is discarded by the next save', () => {
    const dir = freshDir();
    saveHfModel(dir, config, oldWeights);
    fs.mkdirSync(incomingPath(dir));
    fs.writeFileSync(path.join(incomingPath(dir), 'model.safetensors'), 'half a file');
    expectSameWeights(loadHfModel(dir).weights, oldWeights);
    saveHfModel(dir, config, newWeights);
    expectSameWeights(loadHfModel(dir).weights, newWeights);
  });
});

describe('loadHfModel validates tensors against config.json', () => {
  const config = tinyModelConfig('qwen2');
  const weights = tinyModelWeights(config, 5);

  /** A model directory holding exactly `tensors` (name → shape; values zero). */
  function dirWith(tensors: [string, number[]][]): string {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(modelConfigToHfJson(config)));
    writeSafetensorsModel(
      dir,
      tensors.map(([n, s]) =>
        f32TensorToWrite(n, s, new Float32Array(s.reduce((a, b) => a * b, 1)), 'F32'),
      ),
    );
    return dir;
  }
  const specs = paramSpecs(config).map((s) => [s.name, s.shape] as [string, number[]]);

  function loadError(dir: string): SafetensorsError {
    try {
      loadHfModel(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(SafetensorsError);
      return e as SafetensorsError;
    }
    throw new Error(`expected ${dir} to be rejected`);
  }

  it('rejects a missing tensor', () => {
    const err = loadError(
      dirWith(specs.filter(([n]) => n !== 'model.layers.1.self_attn.k_proj.bias')),
    );
    expect([err.code, err.tensor]).toEqual([
      'missing_tensor',
      'model.layers.1.self_attn.k_proj.bias',
    ]);
    expect(err.message).toMatch(/requires it with shape \[16\]/);
  });

  it('rejects a tensor of the wrong shape, naming both shapes', () => {
    const err = loadError(
      dirWith(specs.map(([n, s]) => [n, n === 'model.layers.0.mlp.up_proj.weight' ? [32, 64] : s])),
    );
    expect([err.code, err.tensor]).toEqual(['wrong_shape', 'model.layers.0.mlp.up_proj.weight']);
    expect(err.message).toMatch(
      /model.safetensors: .*shape \[32, 64\] but config.json implies \[64, 32\]/,
    );
  });

  it('rejects an unexpected tensor', () => {
    const err = loadError(dirWith([...specs, ['model.layers.2.input_layernorm.weight', [32]]]));
    expect([err.code, err.tensor]).toEqual([
      'unexpected_tensor',
      'model.layers.2.input_layernorm.weight',
    ]);
  });

  it('accepts and drops the redundant lm_head.weight of a tied model, but checks its shape', () => {
    const loaded = loadHfModel(dirWith([...specs, [LM_HEAD, [512, 32]]]));
    expect([...loaded.weights.keys()]).toEqual(paramSpecs(config).map((s) => s.name));
    const err = loadError(dirWith([...specs, [LM_HEAD, [511, 32]]]));
    expect([err.code, err.tensor]).toEqual(['wrong_shape', LM_HEAD]);
  });

  it('returns weights in paramSpecs order whatever the file order', () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(modelConfigToHfJson(config)));
    const reversed = paramSpecs(config).reverse();
    writeSafetensorsModel(
      dir,
      reversed.map((s) =>
        f32TensorToWrite(s.name, s.shape, weights.get(s.name) as Float32Array, 'F32'),
      ),
    );
    expectSameWeights(loadHfModel(dir).weights, weights);
  });

  it('names config.json when it does not parse', () => {
    const dir = dirWith(specs);
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",');
    expect(() => loadHfModel(dir)).toThrow(/config.json: not valid JSON/);
  });
});

describe('embedded default model (stories260K)', () => {
  const dir = defaultModelDir();

  it('holds the published llama2.c originals, byte for byte', () => {
    const sha = (f: string) =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(dir, 'llama2c', f)))
        .digest('hex');
    expect(sha('stories260K.bin')).toBe(
      'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696',
    );
    expect(sha('tok512.bin')).toBe(
      '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312',
    );
    expect(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toMatch(/MIT License/);
  });

  it('is the current conversion of those originals (rerun tools/scripts/embed-stories260k.ts if not)', () => {
    const file = path.join(dir, 'llama2c', 'stories260K.bin');
    const converted = toHalfRope(
      llama2cToModel(parseLlama2c(new Uint8Array(fs.readFileSync(file)), file)),
    );
    const loaded = loadHfModel(dir);
    expect(loaded.config).toEqual(converted.config);
    expectSameWeights(
      loaded.weights,
      new Map(
        paramSpecs(converted.config).map((s) => [
          s.name,
          converted.weights.get(s.name) as Float32Array,
        ]),
      ),
    );
  });
});
