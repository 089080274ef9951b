/**
 * The training acceptance on Dawn vs the CPU reference (f64): the built-in
 * token-entropy loss and the full parameter gradient on a fixed batch with left padding and
 * an EOS inside a completion (relative ≤ 1e-4 per tensor and on the global norm), then one
 * AdamW and one SGD update of every parameter.
 */
import {
  createOptimizerState,
  globalGradNorm,
  lossAndGrads,
  optimizerUpdate,
  type Tensor,
  uploadWeights,
} from '@oneshot-em/core';
import {
  expectClose,
  peakRelativeError,
  stepBatch,
  stepModels,
  testOptimizerConfig,
  tokenEntropyObjective,
} from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { useDawn } from './testing/harness.js';

describe('token-entropy training step on Dawn vs the CPU reference', () => {
  const h = useDawn();
  const resolved = tokenEntropyObjective();
  for (const model of stepModels()) {
    it(`${model.name}: loss, gradients, global norm, one AdamW and one SGD step`, async (ctx) => {
      const d = h.dawn(ctx);
      const { config } = model;
      const eos = config.eosTokenIds;
      // left-padded prompts; the first completion ends in EOS, the second is cut off
      const batch = stepBatch(config);
      const wd = uploadWeights(d, config, model.weights);
      const wr = uploadWeights(h.ref, config, model.weights);
      const got = await lossAndGrads(d, config, wd, batch, resolved, eos);
      const want = await lossAndGrads(h.ref, config, wr, batch, resolved, eos);
      expectClose('token-entropy loss', [got.loss], [want.loss], { abs: 0, rel: 1e-5 });
      const worst: string[] = [];
      for (const [name, g] of want.grads) {
        const dg = got.grads.get(name);
        if (!dg) throw new Error(`no Dawn gradient for ${name}`);
        const rel = peakRelativeError(await d.read(dg), await h.ref.read(g));
        if (!(rel <= 1e-4)) worst.push(`${name}: relative error ${rel}`);
      }
      if (worst.length > 0) throw new Error(`gradients differ:\n${worst.join('\n')}`);
      const [nd, nr] = [
        await globalGradNorm(d, got.grads),
        await globalGradNorm(h.ref, want.grads),
      ];
      expectClose('global gradient norm', [nd], [nr], { abs: 0, rel: 1e-4 });

      // The updates, from the same gradients on both sides (the reference's, uploaded): AdamW's
      // first step is ≈ lr·sign(g), so where |g| is near eps it would amplify the f32-vs-f64
      // gradient difference checked above into an update difference of order lr.
      const refGrads = new Map<string, Tensor>();
      for (const [name, g] of want.grads)
        refGrads.set(name, d.upload((await h.ref.read(g)) as Float32Array, g.shape));
      for (const kind of ['adamw', 'sgd'] as const) {
        const cfg = testOptimizerConfig(kind);
        const pd = uploadWeights(d, config, model.weights);
        const pr = uploadWeights(h.ref, config, model.weights);
        optimizerUpdate(d, pd, refGrads, createOptimizerState(d, config, kind), cfg, 0.5);
        optimizerUpdate(h.ref, pr, want.grads, createOptimizerState(h.ref, config, kind), cfg, 0.5);
        for (const [name, p] of pr) {
          const t = pd.get(name);
          if (!t) throw new Error(`no Dawn parameter ${name}`);
          expectClose(`${kind} update of ${name}`, await d.read(t), await h.ref.read(p), {
            abs: 1e-6,
            rel: 1e-5,
          });
        }
      }
    });
  }
});
