import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelForward, positionsFromMask } from '../model/forward.js';
import { greedyDecode } from '../model/generate.js';
import { modelLogits } from '../model/head.js';
import { uploadWeights } from '../model/weights.js';
import { llama2cForward } from '../reference/llama2c-forward.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { llama2cToModel, parseLlama2c, permuteForHalfRope, toHalfRope } from './llama2c.js';
import {
  loadStories260K,
  STORIES260K_CHECKPOINT,
  STORIES260K_TOKENIZER,
} from './llama2c-stories.js';

/** Converted-vs-native logits tolerance (f64 on both sides; differences are rounding only). */
const LOGITS_TOLERANCE = 1e-5;

/** Minimal llama2.c tokenizer decode (as run.c): pieces concatenated, a leading space dropped after BOS, <0xXX> bytes. */
function decodeTok512(ids: number[]): string {
  const bytes = fs.readFileSync(STORIES260K_TOKENIZER);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: string[] = [];
  let offset = 4;
  for (let i = 0; i < 512; i++) {
    const length = view.getInt32(offset + 4, true);
    pieces.push(bytes.subarray(offset + 8, offset + 8 + length).toString('utf8'));
    offset += 8 + length;
  }
  let prev = 1;
  let text = '';
  for (const id of ids) {
    let piece = pieces[id];
    if (prev === 1 && piece.startsWith(' ')) piece = piece.slice(1);
    const byte = /^<0x([0-9A-F]{2})>$/.exec(piece);
    text += byte ? String.fromCharCode(Number.parseInt(byte[1], 16)) : piece;
    prev = id;
  }
  return text;
}

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

  it(`native forward = modelForward (interleaved, and converted to half RoPE) within ${LOGITS_TOLERANCE}`, async () => {
    const sequences = [
      [1, 403, 407, 261, 378],
      [1, 20, 300, 11, 87, 2, 45, 499, 3],
      [1, 77],
    ];
    const ops = createReferenceBackend({ precision: 'f64' });
    const interleaved = llama2cToModel(ckpt);
    for (const model of [interleaved, toHalfRope(interleaved)]) {
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
          `${model.config.ropeStyle} rope, tokens ${tokens}: first mismatch at ${at}: ${got[at]} vs ${want[at]}`,
        ).toBeLessThanOrEqual(LOGITS_TOLERANCE);
      }
    }
  });

  it('greedy decoding from BOS tells the story of Lily', async () => {
    const ops = createReferenceBackend({ precision: 'f32' });
    const model = toHalfRope(llama2cToModel(ckpt));
    const w = uploadWeights(ops, model.config, model.weights);
    const ids = await greedyDecode(ops, model.config, w, [1], 200);
    expect(ids).toHaveLength(200);
    const text = decodeTok512(ids);
    expect(text.startsWith('Once upon a time, there was a little girl named Lily.'), text).toBe(
      true,
    );
  });
});
