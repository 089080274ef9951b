import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { expectClose, expectEqualInts, sampleIndices } from '../testing/conformance-compare.js';
import {
  batchLogits,
  cachedDecodeLogits,
  headLossGradient,
  leftPaddedBatch,
  TINY_QWEN2,
  type TinyModel,
  tinyModels,
} from '../testing/conformance-models.js';
import { modelForward, positionsFromMask } from './forward.js';
import { generate } from './generate.js';
import { headForward } from './head.js';
import { uploadWeights } from './weights.js';

/** f64 end to end: anything above rounding is a bug. */
const EXACT = { abs: 1e-10, rel: 1e-10 };
/** Model gradient vs central finite differences (f64, step 1e-5). */
const FINITE_DIFFERENCE = { abs: 1e-7, rel: 1e-6 };

const ops = createReferenceBackend({ precision: 'f64' });
const [qwen2, llama] = tinyModels();

describe('model over TensorOps (reference f64)', () => {
  it('KV-cache decode logits equal the full-sequence forward logits', async () => {
    const batch = leftPaddedBatch(qwen2.config, [8, 5], 21);
    const { B, T } = batch;
    const V = qwen2.config.vocabSize;
    const P = 3;
    const full = await batchLogits(ops, qwen2, batch); // [B·T, V]
    const decoded = await cachedDecodeLogits(ops, qwen2, batch, P); // (T − P) × [B, V]
    const want: number[] = [];
    for (let t = P; t < T; t++) {
      for (let b = 0; b < B; b++)
        want.push(...Array.from(full).slice((b * T + t) * V, (b * T + t + 1) * V));
    }
    expectClose('decode steps vs full forward', decoded, want, EXACT);
  });

  it('left padding does not change a sequence’s logits', async () => {
    const padded = leftPaddedBatch(qwen2.config, [7, 3], 4);
    const alone = {
      B: 1,
      T: 3,
      ids: padded.ids.slice(11, 14),
      mask: padded.mask.slice(11, 14),
      positions: positionsFromMask([1, 1, 1], 1, 3),
    };
    const V = qwen2.config.vocabSize;
    const got = Array.from(await batchLogits(ops, qwen2, padded)).slice(11 * V, 14 * V);
    expectClose('padded vs alone', got, await batchLogits(ops, qwen2, alone), EXACT);
  });

  it('the chunked head gives the same statistics for every chunk size', () => {
    const batch = leftPaddedBatch(llama.config, [6, 4], 9);
    const N = batch.B * batch.T;
    const w = uploadWeights(ops, llama.config, llama.weights);
    const { hidden } = modelForward(ops, llama.config, w, {
      ids: ops.upload(batch.ids, [N]),
      positions: ops.upload(batch.positions, [N]),
      keyMask: ops.upload(batch.mask, [batch.B, batch.T]),
      B: batch.B,
      T: batch.T,
    });
    const targets = ops.upload(batch.ids, [N]);
    const statsFor = (chunkTokens: number) =>
      ops.readExact(
        headForward(ops, llama.config, w, hidden, targets, {
          temperature: 0.5,
          stats: ['lse', 'ez', 'zy'],
          chunkTokens,
        }),
      );
    const whole = statsFor(N);
    for (const chunk of [1, 5]) expectClose(`chunk ${chunk}`, statsFor(chunk), whole, EXACT);
  });

  for (const model of [qwen2, llama] as TinyModel[]) {
    it(`${model.name}: full parameter gradient matches finite differences`, async () => {
      const batch = leftPaddedBatch(model.config, [5, 3], 13);
      const { grads } = await headLossGradient(ops, model, batch, 17, 4);
      for (const [name, values] of model.weights) {
        const indices = sampleIndices(values.length, 3);
        const fd = await Promise.all(
          indices.map(async (i) => {
            const at = async (delta: number) => {
              // f64 weights: the reference(f64) backend keeps them exact on upload
              const shifted = Float64Array.from(values);
              shifted[i] += delta;
              const weights = new Map(model.weights) as unknown as Map<string, Float32Array>;
              weights.set(name, shifted as unknown as Float32Array);
              return (await headLossGradient(ops, { ...model, weights }, batch, 17, 4)).loss;
            };
            return ((await at(1e-5)) - (await at(-1e-5))) / 2e-5;
          }),
        );
        const analytic = indices.map((i) => (grads.get(name) as ArrayLike<number>)[i]);
        expectClose(`d ${name} at ${indices}`, analytic, fd, FINITE_DIFFERENCE);
      }
    });
  }

  it('generate: per-sequence EOS, pad after it, counters per sequence', async () => {
    const w = uploadWeights(ops, TINY_QWEN2, qwen2.weights);
    const sampling = { temperature: 0.8, topP: 0.9, topK: 0, repetitionPenalty: 1.1 };
    const prompts = [
      [5, 6, 7, 8],
      [9, 10],
    ];
    // a pad id already in the padded prompt: padding then adds nothing to the penalty's set
    const PAD = 9;
    const G = 12;
    const free = await generate(ops, TINY_QWEN2, w, {
      prompts,
      sampling,
      maxNewTokens: G,
      seed: 3,
      eosIds: [],
      padId: PAD,
    });
    expect(free.promptLength).toBe(4);
    expect(free.sequences[1].slice(0, 4)).toEqual([PAD, PAD, 9, 10]);
    // the second sequence alone, with the counters it had in the batch, makes the same draws
    const alone = await generate(ops, TINY_QWEN2, w, {
      prompts: [prompts[1]],
      sampling,
      maxNewTokens: G,
      seed: 3,
      eosIds: [],
      padId: PAD,
      counterBase: G,
    });
    expectEqualInts('sequence 1 alone vs in the batch', alone.completions[0], free.completions[1]);
    // make sequence 0's 3rd token an EOS: it stops there, pads follow, sequence 1 is unchanged
    const eos = free.completions[0][2];
    const stopped = await generate(ops, TINY_QWEN2, w, {
      prompts,
      sampling,
      maxNewTokens: G,
      seed: 3,
      eosIds: [eos],
      padId: PAD,
    });
    const firstEos = free.completions[0].indexOf(eos);
    expect(stopped.completions[0]).toEqual(free.completions[0].slice(0, firstEos + 1));
    const tail = stopped.sequences[0].slice(4 + firstEos + 1);
    expect(tail.every((id) => id === PAD)).toBe(true);
    const cut = free.completions[1].indexOf(eos);
    expect(stopped.completions[1]).toEqual(
      cut < 0 ? free.completions[1] : free.completions[1].slice(0, cut + 1),
    );
  });

  it('generate: the left padding counts as present for the repetition penalty (as in HF)', async () => {
    const w = uploadWeights(ops, TINY_QWEN2, qwen2.weights);
    const sampling = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 100 };
    const request = { sampling, maxNewTokens: 1, seed: 0, eosIds: [] };
    const alone = await generate(ops, TINY_QWEN2, w, { ...request, prompts: [[8]], padId: 0 });
    const favourite = alone.completions[0][0];
    expect(favourite).not.toBe(8);
    const padded = await generate(ops, TINY_QWEN2, w, {
      ...request,
      prompts: [[5, 6, 7], [8]],
      padId: favourite,
    });
    expect(padded.completions[1][0]).not.toBe(favourite);
  });
});
