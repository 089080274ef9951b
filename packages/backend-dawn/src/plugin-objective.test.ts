/**
 * A plugin objective that exists only as TypeScript — no Dawn code — trains through this
 * backend via core's generic path (vocabStats → host objective → vocabGrad → model backward):
 * the loss and every parameter gradient match the CPU reference, and AdamW steps on the GPU
 * follow the reference's loss trajectory downwards.
 */
import {
  buildBatch,
  createOptimizerState,
  defineObjective,
  globalGradNorm,
  lossAndGrads,
  optimizerUpdate,
  parseObjectiveParams,
  uploadWeights,
} from '@oneshot-em/core';
import {
  expectClose,
  randomWeights,
  testOptimizerConfig,
  TINY_QWEN2,
} from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useDawn } from './testing/harness.js';

// Entropy of the completion tokens plus a weighted Rényi-2 term (−log Σp²): not a built-in.
const entropyPlusCollision = defineObjective({
  name: 'entropy-plus-collision',
  description: 'token entropy + weight · Rényi-2 entropy on the completion (a test plugin)',
  params: z.object({
    weight: z.coerce.number().default(0.5).describe('Rényi-2 weight (default 0.5)'),
  }),
  stats: () => ({ temperature: 0.5, stats: ['lse', 'ez', 's2'] }),
  loss(ctx, p) {
    const { add, log, maskedMean, mul, neg, sub } = ctx.ops;
    const mask = ctx.completionMask('reference');
    const entropy = sub(ctx.stat('lse'), ctx.stat('ez'));
    const renyi2 = neg(log(ctx.stat('s2')));
    return add(maskedMean(entropy, mask), mul(maskedMean(renyi2, mask), p.weight));
  },
});

describe('a TypeScript-only plugin objective trains through Dawn', () => {
  const h = useDawn();
  const config = TINY_QWEN2;
  const weights = randomWeights(config, 17);
  const objective = {
    objective: entropyPlusCollision,
    params: parseObjectiveParams(entropyPlusCollision, {}),
    origin: 'test',
  };
  const pad = config.padTokenId ?? 0;
  const batch = buildBatch(
    [
      [1, 40, 41, 42],
      [1, 50],
    ],
    [
      [7, 8, 9, 2],
      [11, 12],
    ],
    pad,
  );

  it('loss and gradients match the reference; three AdamW steps lower the loss like the reference', async (ctx) => {
    const d = h.dawn(ctx);
    const eos = config.eosTokenIds;
    const wd = uploadWeights(d, config, weights);
    const wr = uploadWeights(h.ref, config, weights);
    const first = await lossAndGrads(d, config, wd, batch, objective, eos);
    const want = await lossAndGrads(h.ref, config, wr, batch, objective, eos);
    expectClose('plugin loss', [first.loss], [want.loss], { abs: 0, rel: 1e-5 });
    for (const [name, g] of want.grads) {
      const got = await d.read(first.grads.get(name) ?? g);
      const ref = await h.ref.read(g);
      const scale = Math.max(...ref.map(Math.abs), 1e-12);
      expectClose(`gradient ${name}`, got, ref, { abs: 1e-4 * scale });
    }
    const norm = await globalGradNorm(d, first.grads);
    expectClose('global grad norm', [norm], [await globalGradNorm(h.ref, want.grads)], {
      abs: 0,
      rel: 1e-4,
    });

    const cfg = testOptimizerConfig('adamw');
    const sd = createOptimizerState(d, config, 'adamw');
    const sr = createOptimizerState(h.ref, config, 'adamw');
    const losses: number[][] = [[first.loss], [want.loss]];
    let [gd, gr] = [first.grads, want.grads];
    for (let step = 0; step < 3; step++) {
      optimizerUpdate(d, wd, gd, sd, cfg, 1);
      optimizerUpdate(h.ref, wr, gr, sr, cfg, 1);
      for (const t of gd.values()) d.dispose(t);
      const nd = await lossAndGrads(d, config, wd, batch, objective, eos);
      const nr = await lossAndGrads(h.ref, config, wr, batch, objective, eos);
      losses[0].push(nd.loss);
      losses[1].push(nr.loss);
      [gd, gr] = [nd.grads, nr.grads];
    }
    expectClose('loss trajectory (dawn vs reference)', losses[0], losses[1], { abs: 0, rel: 1e-3 });
    expect(losses[0][3]).toBeLessThan(losses[0][0]);
  });
});
