import { randomFloats, randomInts } from '@oneshot-em/core/testing';
import { uniforms as rngUniforms, type SamplingParams } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { useDawn } from '../../testing/harness.js';

/** Draws must equal the CPU reference sampler's (core sampling/sampler.ts) token for token. */
describe('sample vs the CPU reference sampler', () => {
  const h = useDawn();
  const [B, V] = [48, 301];
  const logits = randomFloats(B * V, 101, 5);
  // ties: rows 0–3 repeat one value across many tokens so the tie order by id matters
  for (let b = 0; b < 4; b++) for (let j = 0; j < V; j += 3) logits[b * V + j] = 2.5;
  const presence = Int32Array.from(randomInts(B * V, 102, 10), (x) => (x === 0 ? 1 : 0));
  const u = new Float32Array(B);
  u.set(rngUniforms(7, 0, 0, B));

  const settings: [string, SamplingParams][] = [
    ['greedy with penalty', { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1.15 }],
    [
      'the paper rollout (T 0.5, top-p 0.95, penalty 1.15)',
      { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    ],
    ['top-k 5 after top-p 0.9', { temperature: 1, topP: 0.9, topK: 5, repetitionPenalty: 1 }],
    ['plain temperature 1.3', { temperature: 1.3, topP: 1, topK: 0, repetitionPenalty: 1 }],
    ['top-k 1', { temperature: 0.7, topP: 1, topK: 1, repetitionPenalty: 1 }],
    ['min-p 0.1', { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, minP: 0.1 }],
    [
      'min-p 0.05 after top-p 0.9, T 0.7, penalty 1.15',
      { temperature: 0.7, topP: 0.9, topK: 0, repetitionPenalty: 1.15, minP: 0.05 },
    ],
    [
      'min-p 0.5 after top-k 20, T 0.5',
      { temperature: 0.5, topP: 1, topK: 20, repetitionPenalty: 1, minP: 0.5 },
    ],
  ];
  for (const [name, params] of settings) {
    it(name, async (ctx) => {
      const d = h.dawn(ctx);
      const got = await d.read(
        d.sample(d.upload(logits, [B, V]), d.upload(presence, [B, V]), d.upload(u, [B]), params),
      );
      const want = await h.ref.read(
        h.ref.sample(
          h.ref.upload(logits, [B, V]),
          h.ref.upload(presence, [B, V]),
          h.ref.upload(u, [B]),
          params,
        ),
      );
      const diff = [...got].flatMap((id, b) =>
        id === want[b] ? [] : [`row ${b}: got ${id}, expected ${want[b]}`],
      );
      expect(diff, diff.slice(0, 8).join('\n')).toEqual([]);
    });
  }

  it('edge cases: masked (−∞) logits, underflowing probabilities, topK ≥ V, topP near 1, V = 1', async (ctx) => {
    const d = h.dawn(ctx);
    const cases: [string, number, Float32Array, SamplingParams][] = [];
    const masked = randomFloats(4 * 50, 104, 3);
    for (let i = 0; i < masked.length; i++) if (i % 50 > 2) masked[i] = Number.NEGATIVE_INFINITY;
    cases.push([
      'only 3 finite logits',
      50,
      masked,
      { temperature: 0.9, topP: 0.95, topK: 0, repetitionPenalty: 1.2 },
    ]);
    cases.push([
      'T 0.02: most probabilities underflow to 0',
      97,
      randomFloats(4 * 97, 105, 4),
      { temperature: 0.02, topP: 0.95, topK: 0, repetitionPenalty: 1 },
    ]);
    cases.push([
      'topK ≥ V',
      31,
      randomFloats(4 * 31, 106),
      { temperature: 1, topP: 1, topK: 40, repetitionPenalty: 1 },
    ]);
    cases.push([
      'topP 0.999999',
      31,
      randomFloats(4 * 31, 107),
      { temperature: 1, topP: 0.999999, topK: 0, repetitionPenalty: 1 },
    ]);
    cases.push([
      'V = 1',
      1,
      randomFloats(4, 108),
      { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    ]);
    const rows = 4;
    const uu = Float32Array.from([0, 0.3, 0.7, 0.999]);
    for (const [name, v, z, params] of cases) {
      const pres = new Int32Array(rows * v);
      const got = await d.read(
        d.sample(d.upload(z, [rows, v]), d.upload(pres, [rows, v]), d.upload(uu, [rows]), params),
      );
      const want = await h.ref.read(
        h.ref.sample(
          h.ref.upload(z, [rows, v]),
          h.ref.upload(pres, [rows, v]),
          h.ref.upload(uu, [rows]),
          params,
        ),
      );
      expect([...got], name).toEqual([...want]);
    }
  });

  it('markPresent sets presence[b, ids[b]] in place', async (ctx) => {
    const d = h.dawn(ctx);
    const p = d.upload(presence, [B, V]);
    const ids = randomInts(B, 103, V);
    d.markPresent(p, d.upload(ids, [B]));
    const rp = h.ref.upload(presence, [B, V]);
    h.ref.markPresent(rp, h.ref.upload(ids, [B]));
    expect([...(await d.read(p))]).toEqual([...(await h.ref.read(rp))]);
  });
});
