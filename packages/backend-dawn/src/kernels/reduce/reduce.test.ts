import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { readF, reductionPaths, useDawn } from '../../testing/harness.js';

describe.each(reductionPaths)(
  'reductions (sumRows, sumSquares) vs the CPU reference ($reduction)',
  ({ reduction, options }) => {
    const h = useDawn(options, reduction);

    for (const [N, C] of [
      [53, 131],
      [1000, 37], // chunked: partial column sums, then their sums
      [300_001, 3], // the chunk count is capped
    ]) {
      it(`sumRows over an odd [${N}, ${C}]`, async (ctx) => {
        const d = h.dawn(ctx);
        const x = randomFloats(N * C, 4);
        const got = await readF(d, d.sumRows(d.upload(x, [N, C])));
        const want = await readF(h.ref, h.ref.sumRows(h.ref.upload(x, [N, C])));
        expectClose('sumRows', got, want, { abs: 1e-4, rel: 1e-5 });
      });
    }

    for (const n of [1, 255, 1000, 300_001]) {
      it(`sumSquares of ${n} values (two-stage reduction)`, async (ctx) => {
        const d = h.dawn(ctx);
        const x = randomFloats(n, 5 + n);
        const got = await readF(d, d.sumSquares(d.upload(x, [n])));
        const want = await readF(h.ref, h.ref.sumSquares(h.ref.upload(x, [n])));
        expectClose('sumSquares', got, want, { abs: 1e-6, rel: 1e-5 });
      });
    }
  },
);
