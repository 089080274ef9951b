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
    const c0 = d.commands();
    const fused = await d.generate(config, w, opts);
    const after = d.transfers();
    const c1 = d.commands();
    expect(fused).toEqual(generic);
    // done-flag checks + the final flags and history; the generic loop reads once per token
    expect(after.reads - before.reads).toBe(Math.floor((opts.maxNewTokens - 1) / CHECK_EVERY) + 2);
    // one submit per step and one per readback
    expect(c1.readbacks - c0.readbacks).toBe(after.reads - before.reads);
    expect(c1.submits - c0.submits).toBe(opts.maxNewTokens + c1.readbacks - c0.readbacks);
    expect(c1.decodeRecordMs).toBeGreaterThan(c0.decodeRecordMs);

    // the same generation again records the same dispatches into the same uniform slots over
    // the same pooled buffers: its bind groups come from the cache
    const again = await d.generate(config, w, opts);
    const c2 = d.commands();
    expect(again).toEqual(generic);
    expect(c2.dispatches - c1.dispatches).toBe(c1.dispatches - c0.dispatches);
    // (misses: where a tensor moves to a larger size class, e.g. the growing key mask; without
    // the cache every dispatch creates one, without the pool's canonical order about half)
    expect(c2.bindGroups - c1.bindGroups).toBeLessThan((c2.dispatches - c1.dispatches) / 5);
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
    const c = d.commands();
    await d.generate(config, w, { ...base, eosIds: [], maxNewTokens: 2 * CHECK_EVERY });
    const c0 = d.commands();
    const fused = await d.generate(config, w, { ...base, eosIds });
    const c1 = d.commands();
    expect(fused).toEqual(generic);
    // it stopped early: the flags read after step 16 are looked at after step 32, its last
    expect(c1.dispatches - c0.dispatches).toBe(c0.dispatches - c.dispatches);
    expect(generic.sequences[0].length).toBeLessThan(base.prompts[1].length + base.maxNewTokens);
  });
});
