import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uploadWeights } from '../model/weights.js';
import { highEntropyTokens } from '../objectives/high-entropy-tokens/high-entropy-tokens.js';
import { defineObjective, type Objective } from '../objectives/objective.js';
import type { ResolvedObjective } from '../objectives/resolve-objective.js';
import { tokenEntropy } from '../objectives/token-entropy/token-entropy.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { buildBatch } from './batch.js';
import { lossAndGrads } from './loss-and-grads.js';

const config = tinyModelConfig('qwen2');
const batch = buildBatch(
  [
    [1, 40, 41, 42],
    [1, 50],
  ],
  [
    [7, 8, 9, 2],
    [11, 12, 13, 14, 15],
  ],
  0,
);

/**
 * Token entropy where lse > 3 and nothing elsewhere: the probes' statistics (all below 1)
 * see a zero loss with zero coefficients, the real ones (lse ≈ log V + …) the entropy — a kink
 * the probes miss, so the early coefficients are wrong and the micro-batch must be redone.
 */
const kinked = defineObjective({
  name: 'kinked-entropy',
  description: 'entropy where lse > 3',
  params: z.object({}),
  stats: () => ({ temperature: 0.5, stats: ['lse', 'ez'] }),
  loss(ctx) {
    const { maskedMean, sub, where } = ctx.ops;
    const lse = ctx.stat('lse');
    const above = Float64Array.from(lse.value as Float64Array, (v) => (v > 3 ? 1 : 0));
    return maskedMean(where(above, sub(lse, ctx.stat('ez')), 0), ctx.completionMask('reference'));
  },
});

const resolved = (objective: Objective): ResolvedObjective => ({
  objective,
  params: {},
  origin: 'test',
});

async function run(objective: Objective, path: 'auto' | 'two-pass') {
  const backend = createReferenceBackend({ precision: 'f32' });
  const w = uploadWeights(backend, config, tinyModelWeights(config, 5));
  const r = await lossAndGrads(backend, config, w, batch, resolved(objective), [2], { path });
  const grads = new Map<string, number[]>();
  for (const [name, g] of r.grads) grads.set(name, Array.from(await backend.read(g)));
  return { ...r, grads };
}

describe('lossAndGrads: one pass when dL/dstat is known early', () => {
  it('token-entropy runs one pass, bit-equal to the statistics-first path', async () => {
    const one = await run(tokenEntropy as Objective, 'auto');
    const two = await run(tokenEntropy as Objective, 'two-pass');
    expect(one.path).toBe('one-pass');
    expect(two.path).toBe('two-pass');
    expect(one.loss).toBe(two.loss);
    expect(one.metrics).toEqual(two.metrics);
    expect([...one.grads.keys()]).toEqual([...two.grads.keys()]);
    for (const [name, g] of two.grads) expect(one.grads.get(name), name).toEqual(g);
  });

  it('high-entropy-tokens (top-q of the statistics) takes the two-pass path', async () => {
    expect((await run(highEntropyTokens as Objective, 'auto')).path).toBe('two-pass');
  });

  it('a kink the probes miss is caught by the real coefficients and redone two-pass', async () => {
    const auto = await run(kinked as Objective, 'auto');
    const two = await run(kinked as Objective, 'two-pass');
    expect(auto.path).toBe('two-pass');
    expect(auto.loss).toBeGreaterThan(0); // the real statistics are past the kink
    expect(auto.loss).toBe(two.loss);
    for (const [name, g] of two.grads) expect(auto.grads.get(name), name).toEqual(g);
  });
});
