import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { readF, useDawn } from '../../testing/harness.js';

describe('elementwise (add, scale, addBias) vs the CPU reference', () => {
  const h = useDawn();
  const N = 37;
  const C = 71; // N·C = 2627: not a multiple of the workgroup size
  const a = randomFloats(N * C, 1);
  const b = randomFloats(N * C, 2);
  const bias = randomFloats(C, 3);

  it('add', async (ctx) => {
    const d = h.dawn(ctx);
    const got = await readF(d, d.add(d.upload(a, [N, C]), d.upload(b, [N, C])));
    const want = await readF(h.ref, h.ref.add(h.ref.upload(a, [N, C]), h.ref.upload(b, [N, C])));
    expectClose('add', got, want, { abs: 1e-6 });
  });

  it('accumulate (in place) equals add bit for bit; acc keeps its handle', async (ctx) => {
    const d = h.dawn(ctx);
    const acc = d.upload(a, [N, C]);
    d.accumulate(acc, d.upload(b, [N, C]));
    const want = await readF(d, d.add(d.upload(a, [N, C]), d.upload(b, [N, C])));
    expectClose('accumulate', await readF(d, acc), want, { abs: 0 });
  });

  it('scale', async (ctx) => {
    const d = h.dawn(ctx);
    const got = await readF(d, d.scale(d.upload(a, [N, C]), -0.37));
    const want = await readF(h.ref, h.ref.scale(h.ref.upload(a, [N, C]), -0.37));
    expectClose('scale', got, want, { abs: 1e-6 });
  });

  it('addBias', async (ctx) => {
    const d = h.dawn(ctx);
    const got = await readF(d, d.addBias(d.upload(a, [N, C]), d.upload(bias, [C])));
    const want = await readF(
      h.ref,
      h.ref.addBias(h.ref.upload(a, [N, C]), h.ref.upload(bias, [C])),
    );
    expectClose('addBias', got, want, { abs: 1e-6 });
  });

  it('sliceRows and concatRows', async (ctx) => {
    const d = h.dawn(ctx);
    const x = d.upload(a, [N, C]);
    const parts = [d.sliceRows(x, 0, 5), d.sliceRows(x, 5, 0), d.sliceRows(x, 5, N - 5)];
    const got = await readF(d, d.concatRows(parts));
    expectClose('concat(slices) = x', got, a, { abs: 0 });
    expectClose('sliceRows', await readF(d, parts[2]), a.subarray(5 * C), { abs: 0 });
  });
});
