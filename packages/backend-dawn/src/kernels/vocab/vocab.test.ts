import { expectClose, randomFloats, randomInts, sampleIndices } from '@oneshot-em/core/testing';
import type { VocabStatName } from '@oneshot-em/core';
import { describe, it } from 'vitest';
import {
  expectFiniteDifferences,
  expectTensorClose,
  readF,
  reductionPaths,
  useDawn,
} from '../../testing/harness.js';

describe.each(reductionPaths)(
  'vocab stats and grad vs the CPU reference ($reduction)',
  ({ reduction, options }) => {
    const h = useDawn(options, reduction);
    const temperature = 0.5;

    function logitsWithMask(N: number, V: number, seed: number): Float32Array {
      const z = randomFloats(N * V, seed, 6);
      z[3] = Number.NEGATIVE_INFINITY; // a masked vocabulary entry in row 0
      return z;
    }

    const orders: VocabStatName[][] = [
      ['s2', 'lse', 'zy', 'mz', 'ez'],
      ['ez', 'zy'], // no lse: the grad recomputes it
      ['mz'],
    ];
    for (const stats of orders) {
      it(`stats [${stats}] and grad on odd [N, V]`, async (ctx) => {
        const d = h.dawn(ctx);
        const [N, V] = [5, 1031];
        const z = logitsWithMask(N, V, 91);
        const y = randomInts(N, 92, V);
        const coeffs = randomFloats(N * stats.length, 93);
        const opts = { temperature, stats };
        const dz = d.upload(z, [N, V]);
        const dy = d.upload(y, [N]);
        const values = d.vocabStats(dz, dy, opts);
        const rz = h.ref.upload(z, [N, V]);
        const ry = h.ref.upload(y, [N]);
        const rValues = h.ref.vocabStats(rz, ry, opts);
        await expectTensorClose(h, d, 'vocabStats', values, rValues, {
          abs: 1e-5,
          rel: 1e-5,
        });
        const grad = await readF(
          d,
          d.vocabGrad(dz, dy, values, d.upload(coeffs, [N, stats.length]), opts),
        );
        const want = await readF(
          h.ref,
          h.ref.vocabGrad(rz, ry, rValues, h.ref.upload(coeffs, [N, stats.length]), opts),
        );
        expectClose('vocabGrad', grad, want, { abs: 1e-6, rel: 1e-4 });

        // finite differences of L = Σ coeffs · stats (skipping the masked entry)
        expectFiniteDifferences(
          h.ref,
          'vocabGrad',
          {
            grad,
            x: z,
            shape: [N, V],
            forward: (x) => h.ref.vocabStats(x, ry, opts),
            weights: coeffs,
            coords: sampleIndices(N * V, 6).filter((i) => Number.isFinite(z[i])),
            h: 1e-3,
          },
          { abs: 1e-5, rel: 1e-3 },
        );
      });
    }

    it('a 151,936-entry vocabulary (Qwen2) in one row loop', async (ctx) => {
      const d = h.dawn(ctx);
      const [N, V] = [2, 151_936];
      const stats: VocabStatName[] = ['lse', 'ez', 'zy', 'mz', 's2'];
      const z = randomFloats(N * V, 94, 8);
      z[V + 1234] = 40; // one dominant logit in row 1
      const y = Int32Array.from([5, V - 1]);
      const got = await readF(
        d,
        d.vocabStats(d.upload(z, [N, V]), d.upload(y, [N]), { temperature, stats }),
      );
      const want = await readF(
        h.ref,
        h.ref.vocabStats(h.ref.upload(z, [N, V]), h.ref.upload(y, [N]), { temperature, stats }),
      );
      expectClose('vocabStats at V = 151,936', got, want, { abs: 1e-4, rel: 1e-5 });
    });
  },
);
