import { expectClose, randomFloats, randomInts } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { expectFiniteDifferences, readF, useDawn } from '../../testing/harness.js';

describe('embedding gather / scatter-add vs the CPU reference', () => {
  const h = useDawn();
  const [V, C, N] = [29, 13, 41]; // repeated ids: N > V
  const ids = randomInts(N, 21, V);
  const table = randomFloats(V * C, 22);
  const dOut = randomFloats(N * C, 23);

  it('forward gathers rows', async (ctx) => {
    const d = h.dawn(ctx);
    const got = await readF(d, d.embeddingForward(d.upload(ids, [N]), d.upload(table, [V, C])));
    const want = await readF(
      h.ref,
      h.ref.embeddingForward(h.ref.upload(ids, [N]), h.ref.upload(table, [V, C])),
    );
    expectClose('embeddingForward', got, want, { abs: 0 });
  });

  it('backward scatter-adds repeated ids, and matches finite differences', async (ctx) => {
    const d = h.dawn(ctx);
    const got = await readF(d, d.embeddingBackward(d.upload(ids, [N]), d.upload(dOut, [N, C]), V));
    const want = await readF(
      h.ref,
      h.ref.embeddingBackward(h.ref.upload(ids, [N]), h.ref.upload(dOut, [N, C]), V),
    );
    expectClose('embeddingBackward', got, want, { abs: 1e-5 });
    const idsRef = h.ref.upload(ids, [N]);
    expectFiniteDifferences(
      h.ref,
      'embeddingBackward',
      {
        grad: got,
        x: table,
        shape: [V, C],
        forward: (t) => h.ref.embeddingForward(idsRef, t),
        weights: dOut,
      },
      { abs: 1e-4 },
    );
  });
});
