import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelForward, positionsFromMask } from '../model/forward.js';
import { greedyDecode } from '../model/generate.js';
import { modelLogits } from '../model/head.js';
import { uploadWeights } from '../model/weights.js';
import { llama2cForward } from '../reference/llama2c-forward.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { loadLlama2cTokenizer, loadTokenizer } from '../tokenizer/load-tokenizer.js';
import { loadHfModel } from './hf-model.js';
import { llama2cToModel, parseLlama2c, permuteForHalfRope, toHalfRope } from './llama2c.js';
import { convertLlama2c } from './llama2c-convert.js';
import {
  loadStories260K,
  STORIES260K_CHECKPOINT,
  STORIES260K_TOKENIZER,
} from './llama2c-stories.js';

/** Converted-vs-native logits tolerance (f64 on both sides; differences are rounding only). */
const LOGITS_TOLERANCE = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) [max, at] = [d, i];
  }
  return { max, at };
}

describe('llama2.c checkpoints', () => {
  const ckpt = loadStories260K();

  it('parses the stories260K header', () => {
    expect(ckpt.header).toEqual({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
    });
  });

  it('rejects truncated files and bad headers with the file name', () => {
    const bytes = new Uint8Array(fs.readFileSync(STORIES260K_CHECKPOINT));
    expect(() => parseLlama2c(bytes.subarray(0, 1000), 'x.bin')).toThrow(
      /x\.bin: 1000 bytes, but the header .* implies 1056540/,
    );
    expect(() => parseLlama2c(bytes.subarray(0, 10), 'x.bin')).toThrow(/shorter than the 28-byte/);
    const bad = bytes.slice();
    new DataView(bad.buffer).setInt32(12, 0, true);
    expect(() => parseLlama2c(bad, 'x.bin')).toThrow(/n_heads = 0/);
  });

  it('permuteForHalfRope maps rows (0, 2, 4, …, 1, 3, …) per head', () => {
    const w = Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.floor(i / 3));
    const p = permuteForHalfRope(w, 2, 4);
    expect(Array.from({ length: 8 }, (_, r) => p[r * 3])).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  const converted = fs.mkdtempSync(path.join(os.tmpdir(), 'llama2c-convert-'));
  afterAll(() => fs.rmSync(converted, { recursive: true, force: true }));

  it('convertLlama2c writes a Hugging Face directory that loads back', () => {
    const { files } = convertLlama2c({
      checkpoint: STORIES260K_CHECKPOINT,
      tokenizer: STORIES260K_TOKENIZER,
      out: converted,
    });
    expect(files).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    const loaded = loadHfModel(converted);
    expect(loaded.config).toMatchObject({
      ropeStyle: 'half',
      numKvHeads: 4,
      tieWordEmbeddings: true,
    });
    expect(loadTokenizer(converted).vocabSize).toBe(512);
  });

  it(`native forward = modelForward (interleaved, half-RoPE, converted from disk) within ${LOGITS_TOLERANCE}`, async () => {
    const sequences = [
      [1, 403, 407, 261, 378],
      [1, 20, 300, 11, 87, 2, 45, 499, 3],
      [1, 77],
    ];
    const ops = createReferenceBackend({ precision: 'f64' });
    const interleaved = llama2cToModel(ckpt);
    const models = {
      interleaved,
      'half RoPE': toHalfRope(interleaved),
      'converted directory': loadHfModel(converted),
    };
    for (const [name, model] of Object.entries(models)) {
      const w = uploadWeights(ops, model.config, model.weights);
      for (const tokens of sequences) {
        const T = tokens.length;
        const mask = new Int32Array(T).fill(1);
        const { hidden } = modelForward(ops, model.config, w, {
          ids: ops.upload(Int32Array.from(tokens), [T]),
          positions: ops.upload(positionsFromMask(mask, 1, T), [T]),
          keyMask: ops.upload(mask, [1, T]),
          B: 1,
          T,
        });
        const got = ops.readExact(modelLogits(ops, model.config, w, hidden));
        const want = llama2cForward(ckpt, tokens);
        const { max, at } = maxAbsDiff(got, want);
        expect(
          max,
          `${name}, tokens ${tokens}: max diff ${max}; first mismatch at ${at}: ${got[at]} vs ${want[at]}`,
        ).toBeLessThanOrEqual(LOGITS_TOLERANCE);
      }
    }
  });

  it('greedy decoding from BOS tells the story of Lily', async () => {
    const ops = createReferenceBackend({ precision: 'f32' });
    const model = loadHfModel(converted);
    const w = uploadWeights(ops, model.config, model.weights);
    const ids = await greedyDecode(ops, model.config, w, [1], 200);
    expect(ids).toHaveLength(200);
    const story = 'Once upon a time, there was a little girl named Lily.';
    for (const tokenizer of [
      loadLlama2cTokenizer(STORIES260K_TOKENIZER),
      loadTokenizer(converted),
    ]) {
      const text = tokenizer.decode(ids);
      expect(text.trimStart().startsWith(story), `${tokenizer.source}: ${text}`).toBe(true);
    }
  });

  it('untied classifier (negative vocab_size) and GQA 3/1: native forward = modelForward', () => {
    const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = [12, 20, 2, 3, 1, 17, 9];
    const headDim = dim / heads;
    const floats =
      vocab * dim +
      layers * (2 * dim + dim * dim * 2 + 2 * kvHeads * headDim * dim + 3 * hidden * dim) +
      dim +
      seqLen * headDim +
      vocab * dim;
    const bytes = new Uint8Array(28 + 4 * floats);
    const view = new DataView(bytes.buffer);
    [dim, hidden, layers, heads, kvHeads, -vocab, seqLen].forEach((v, i) => {
      view.setInt32(4 * i, v, true);
    });
    for (let i = 0; i < floats; i++) view.setFloat32(28 + 4 * i, Math.sin(i * 0.37) * 0.5, true);
    const synthetic = parseLlama2c(bytes, 'synthetic.bin');
    expect(synthetic.header.sharedClassifier).toBe(false);
    const model = toHalfRope(llama2cToModel(synthetic));
    expect(model.config).toMatchObject({ tieWordEmbeddings: false, numKvHeads: 1, vocabSize: 17 });
    const ops = createReferenceBackend({ precision: 'f64' });
    const w = uploadWeights(ops, model.config, model.weights);
    const tokens = [1, 16, 3, 3, 0, 9];
    const T = tokens.length;
    const mask = new Int32Array(T).fill(1);
    const { hidden: h } = modelForward(ops, model.config, w, {
      ids: ops.upload(Int32Array.from(tokens), [T]),
      positions: ops.upload(positionsFromMask(mask, 1, T), [T]),
      keyMask: ops.upload(mask, [1, T]),
      B: 1,
      T,
    });
    const got = ops.readExact(modelLogits(ops, model.config, w, h));
    const { max, at } = maxAbsDiff(got, llama2cForward(synthetic, tokens));
    expect(max, `max diff ${max} at ${at}`).toBeLessThanOrEqual(LOGITS_TOLERANCE);
  });
});
