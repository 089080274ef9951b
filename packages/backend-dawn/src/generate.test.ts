import { generate, uploadWeights } from '@oneshot-em/core';
import { randomWeights, TINY_LLAMA } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY } from './generate.js';
import { useDawn } from './testing/harness.js';

describe('on-device generation loop', () => {
  const h = useDawn();
  const config = { ...TINY_LLAMA, maxPositionEmbeddings: 64 };
  const weights = randomWeights(config, 5);

  it('equals core generate token for token while reading ids back only every few steps', async (ctx) => {
    const d = h.dawn(ctx);
    const w = uploadWeights(d, config, weights);
    const opts = {
      prompts: [[1, 5, 9], [1], [1, 30, 31, 32, 33]],
      sampling: { temperature: 0.8, topP: 0.9, topK: 0, repetitionPenalty: 1.1 },
      maxNewTokens: 40,
      seed: 99,
      eosIds: [] as number[],
      padId: 0,
    };
    const generic = await generate(d, config, w, opts);
    const before = d.transfers();
    const fused = await d.generate(config, w, opts);
    const after = d.transfers();
    expect(fused).toEqual(generic);
    // done-flag checks + the final flags and history; the generic loop reads once per token
    expect(after.reads - before.reads).toBe(Math.floor((opts.maxNewTokens - 1) / CHECK_EVERY) + 2);
  });

  it('stops like core generate when every sequence has hit EOS', async (ctx) => {
    const d = h.dawn(ctx);
    const w = uploadWeights(d, config, weights);
    const base = {
      prompts: [
        [1, 7],
        [1, 8, 2],
      ],
      sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
      maxNewTokens: 50,
      seed: 1,
      padId: 0,
    };
    // make the greedy continuation's own tokens the EOS ids, so both sequences stop early
    const probe = await generate(d, config, w, { ...base, eosIds: [] });
    const eosIds = [probe.completions[0][2], probe.completions[1][4]];
    const generic = await generate(d, config, w, { ...base, eosIds });
    const fused = await d.generate(config, w, { ...base, eosIds });
    expect(fused).toEqual(generic);
    expect(generic.sequences[0].length).toBeLessThan(base.prompts[1].length + base.maxNewTokens);
  });
});
