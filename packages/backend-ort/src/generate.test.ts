import {
  createReferenceBackend,
  type GenerateOptions,
  generate,
  uploadWeights,
} from '@oneshot-em/core';
import {
  SAMPLED_CASE,
  stories260K,
  tinyModelConfig,
  tinyModelWeights,
} from '@oneshot-em/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDevice } from './testing/device.js';
import { createOrtBackend, type OrtBackend } from './ort-backend.js';

/**
 * The fused generation graph (prefill + decode Loop + on-device sampling) against core's
 * generic `generate` on the CPU reference: identical sequences and completions, one
 * `session.run` per batch, and the graph really is a Loop.
 */
let ortB: OrtBackend;
beforeAll(async () => {
  ortB = await createOrtBackend({ device: testDevice() });
});
afterAll(async () => {
  await ortB.destroy();
});

const prompts = [
  [1, 17, 300, 42, 9],
  [1, 5],
  [1, 200, 201],
];

for (const kind of ['qwen2', 'llama'] as const) {
  describe(`fused generate (${kind} tiny model)`, () => {
    const config = tinyModelConfig(kind);
    const weights = tinyModelWeights(config, 7);

    for (const [label, sampling] of [
      ['greedy', { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 }],
      [
        'sampled T0.5 p0.95 rep1.15',
        { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      ],
      ['sampled T1.5 top-k 5', { temperature: 1.5, topP: 1, topK: 5, repetitionPenalty: 1 }],
      [
        'sampled T1.5 min-p 0.2',
        { temperature: 1.5, topP: 1, topK: 0, repetitionPenalty: 1, minP: 0.2 },
      ],
    ] as const) {
      it(`${label}: equals core's generate on the reference, in one run with a Loop`, async () => {
        const request: GenerateOptions = {
          prompts,
          sampling,
          maxNewTokens: 24,
          seed: 11,
          eosIds: [2],
          padId: 0,
        };
        const ref = createReferenceBackend({ precision: 'f64' });
        const want = await generate(ref, config, uploadWeights(ref, config, weights), request);
        const w = uploadWeights(ortB, config, weights);
        const runsBefore = ortB.runs();
        const got = await ortB.generate(config, w, request);
        expect(ortB.runs() - runsBefore, 'session.run calls per batch').toBe(1);
        expect(ortB.lastGraphOpTypes()).toContain('Loop');
        expect(got.promptLength).toBe(want.promptLength);
        expect(got.sequences).toEqual(want.sequences);
        expect(got.completions).toEqual(want.completions);
      });
    }

    it('stops early when every sequence has emitted EOS (the Loop condition)', async () => {
      const ref = createReferenceBackend({ precision: 'f64' });
      const sampling = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 };
      // Every greedy token of the reference run counts as EOS: one step, then all done.
      const probe = await generate(ref, config, uploadWeights(ref, config, weights), {
        prompts,
        sampling,
        maxNewTokens: 1,
        seed: 0,
        eosIds: [],
        padId: 0,
      });
      const eosIds = probe.completions.map((c) => c[0]);
      const request: GenerateOptions = {
        prompts,
        sampling,
        maxNewTokens: 16,
        seed: 0,
        eosIds,
        padId: 0,
      };
      const want = await generate(ref, config, uploadWeights(ref, config, weights), request);
      const got = await ortB.generate(config, uploadWeights(ortB, config, weights), request);
      expect(got.sequences).toEqual(want.sequences);
      expect(got.sequences[0].length).toBe(want.promptLength + 1);
    });
  });
}

describe('generic generate (core, one read per token) on ORT', () => {
  it('compiles one decode-step graph for every cache length (lengths are inputs, not constants)', async () => {
    const config = tinyModelConfig('qwen2');
    const weights = tinyModelWeights(config, 5);
    const be = await createOrtBackend({ device: testDevice() });
    const request: GenerateOptions = {
      prompts,
      sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      maxNewTokens: 12,
      seed: 3,
      eosIds: [],
      padId: 0,
    };
    const runsBefore = be.runs();
    const sessionsBefore = be.sessions();
    const got = await generate(be, config, uploadWeights(be, config, weights), request);
    // step 0 also runs the prefill; steps 1..11 share one graph
    expect(be.runs() - runsBefore).toBe(12);
    expect(be.sessions() - sessionsBefore).toBe(2);
    const ref = createReferenceBackend({ precision: 'f64' });
    const want = await generate(ref, config, uploadWeights(ref, config, weights), request);
    expect(got.sequences).toEqual(want.sequences);
    await be.destroy();
  });
});

describe('fused generate on stories260K (the acceptance cases)', () => {
  const model = stories260K();
  const ref = createReferenceBackend({ precision: 'f64' });
  const refWeights = uploadWeights(ref, model.config, model.weights);

  it('greedy 200 tokens from BOS equals the reference token for token', async () => {
    const request: GenerateOptions = {
      prompts: [[1]],
      sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
      maxNewTokens: 200,
      seed: 0,
      eosIds: [],
      padId: 0,
    };
    const want = await generate(ref, model.config, refWeights, request);
    const runsBefore = ortB.runs();
    const got = await ortB.generate(
      model.config,
      uploadWeights(ortB, model.config, model.weights),
      request,
    );
    expect(ortB.runs() - runsBefore).toBe(1);
    expect(got.sequences).toEqual(want.sequences);
  });

  it('seeded sampled decode 4 × 64 (T 0.5, top-p 0.95, penalty 1.15) makes the reference draws', async () => {
    const request: GenerateOptions = { ...SAMPLED_CASE, eosIds: [], padId: 0 };
    const want = await generate(ref, model.config, refWeights, request);
    const runsBefore = ortB.runs();
    const got = await ortB.generate(
      model.config,
      uploadWeights(ortB, model.config, model.weights),
      request,
    );
    expect(ortB.runs() - runsBefore).toBe(1);
    expect(got.sequences).toEqual(want.sequences);
  });
});
