import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHfModel } from '../io/hf-model.js';
import { LM_HEAD, paramSpecs } from '../model/params.js';
import { loadTokenizer } from '../tokenizer/load-tokenizer.js';
import { tinyModelConfig, tinyModelWeights, writeTinyModel } from './fixtures.js';
import { freshDirs, expectSameWeights } from './files.js';

const freshDir = freshDirs('fixtures-test-');

describe('tiny fixture models', () => {
  it.each(['qwen2', 'llama'] as const)(
    '%s: writes an HF directory that loads back exactly',
    (kind) => {
      const dir = freshDir();
      const written = writeTinyModel(dir, { kind, seed: 7 });
      const loaded = loadHfModel(dir);
      expect(loaded.config).toEqual(tinyModelConfig(kind));
      expectSameWeights(loaded.weights, written.weights);
      for (const f of [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
        'generation_config.json',
      ]) {
        expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
      }
      const tokenizerConfig = JSON.parse(
        fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'),
      );
      expect(typeof tokenizerConfig.chat_template).toBe(kind === 'qwen2' ? 'string' : 'undefined');
    },
  );

  it('has the promised architecture: qwen2 tied with q/k/v biases and GQA, llama with an untied head', () => {
    const q = tinyModelConfig('qwen2');
    expect([
      q.tieWordEmbeddings,
      q.qkvBias,
      q.oBias,
      q.numHeads,
      q.numKvHeads,
      q.ropeTheta,
    ]).toEqual([true, true, false, 4, 2, 1e6]);
    const l = tinyModelConfig('llama');
    expect(paramSpecs(l).some((s) => s.name === LM_HEAD)).toBe(true);
    expect(paramSpecs(q).some((s) => s.name === LM_HEAD)).toBe(false);
  });

  it('is deterministic: the same seed gives the same bytes, another seed other weights', () => {
    const a = freshDir();
    const b = freshDir();
    const c = freshDir();
    writeTinyModel(a, { kind: 'qwen2', seed: 3 });
    writeTinyModel(b, { kind: 'qwen2', seed: 3 });
    writeTinyModel(c, { kind: 'qwen2', seed: 4 });
    const files = fs.readdirSync(a).sort();
    expect(fs.readdirSync(b).sort()).toEqual(files);
    for (const f of files)
      expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f))), f).toBe(
        true,
      );
    expect(
      fs
        .readFileSync(path.join(c, 'model.safetensors'))
        .equals(fs.readFileSync(path.join(a, 'model.safetensors'))),
    ).toBe(false);
  });

  it('draws weights that are neither flat nor huge (init std 0.1–0.2, norm gains near 1)', () => {
    const w = tinyModelWeights(tinyModelConfig('llama'), 1);
    const std = (v: Float32Array) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
    };
    expect(std(w.get('model.embed_tokens.weight') as Float32Array)).toBeCloseTo(0.2, 1);
    expect(std(w.get('model.layers.0.self_attn.q_proj.weight') as Float32Array)).toBeCloseTo(
      0.1,
      1,
    );
    const norm = w.get('model.norm.weight') as Float32Array;
    expect(norm.reduce((s, x) => s + x, 0) / norm.length).toBeCloseTo(1, 0);
  });
});

describe('fixture tokenizer', () => {
  it('qwen2: the shared stories260K tokenizer with a ChatML chat template', () => {
    const dir = freshDir();
    writeTinyModel(dir, { kind: 'qwen2', seed: 1 });
    const tok = loadTokenizer(dir);
    expect(tok.vocabSize).toBe(tinyModelConfig('qwen2').vocabSize);
    expect(tok.decode(tok.encode('Once upon a time'))).toBe('Once upon a time');
    expect(
      tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }),
    ).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  });
});
