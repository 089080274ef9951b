import { expectClose, randomFloats, randomInts } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { readF, useDawn } from '../../testing/harness.js';
import { vocabWorkgroup } from './vocab.js';

describe('vocabStats threads per row', () => {
  it('1024 for fewer than 1024 rows within the limits, else 256', () => {
    const big = { threads: 1024, storageBytes: 32768 };
    expect(vocabWorkgroup(256, big)).toBe(1024);
    expect(vocabWorkgroup(1024, big)).toBe(256);
    expect(vocabWorkgroup(8, { threads: 512, storageBytes: 32768 })).toBe(512);
    expect(vocabWorkgroup(8, { threads: 1024, storageBytes: 16384 })).toBe(512);
    expect(vocabWorkgroup(8, { threads: 256, storageBytes: 16384 })).toBe(256);
  });

  // both workgroup sizes on the device against the reference: 5 rows (1024 threads per row on
  // lavapipe) and 1030 rows (256)
  const h = useDawn();
  for (const N of [5, 1030]) {
    it(`${N} rows: stats equal the reference`, async (ctx) => {
      const d = h.dawn(ctx);
      const V = 1031;
      const z = randomFloats(N * V, 7, 6);
      const y = randomInts(N, 8, V);
      const opts = { temperature: 0.5, stats: ['lse', 'ez', 'zy', 's2'] as const };
      const got = await readF(
        d,
        d.vocabStats(d.upload(z, [N, V]), d.upload(y, [N]), { ...opts, stats: [...opts.stats] }),
      );
      const want = await readF(
        h.ref,
        h.ref.vocabStats(h.ref.upload(z, [N, V]), h.ref.upload(y, [N]), {
          ...opts,
          stats: [...opts.stats],
        }),
      );
      expectClose(`vocabStats ${N} rows`, got, want, { abs: 1e-5, rel: 1e-5 });
    });
  }
});
