import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import type { RopeOptions } from '@oneshot-em/core';
import { describe, it } from 'vitest';
import { expectFiniteDifferences, readF, useDawn } from '../../testing/harness.js';
import { ROPE_DIGIT } from './rope.js';

describe('rope forward/backward vs the CPU reference (both styles)', () => {
  const h = useDawn();
  const heads = 3;
  const headDim = 10;
  const N = 11;
  const x = randomFloats(N * heads * headDim, 41);
  // Positions use every level of the tables: below 256 (exact), 4000 and 32773 (two and three
  // digits), past 256³ (four), the largest i32, and a negative one; all hold one tolerance.
  const far = [4000, 32773, ROPE_DIGIT ** 3 + 12345, 2 ** 31 - 1, -77];
  const positions = Int32Array.from({ length: N }, (_, i) =>
    i >= N - far.length ? far[i - (N - far.length)] : i * 3,
  );

  it('headDim 128 (Qwen2 / Llama sizes), both styles', async (ctx) => {
    const d = h.dawn(ctx);
    const D = 128;
    const n = 6;
    const xx = randomFloats(n * 2 * D, 42);
    const pos = Int32Array.from([0, 1, 17, 511, 4095, 31999]);
    for (const style of ['half', 'interleaved'] as const) {
      const o: RopeOptions = { heads: 2, headDim: D, theta: 1e6, style };
      const got = await readF(d, d.ropeForward(d.upload(xx, [n, 2 * D]), d.upload(pos, [n]), o));
      const want = await readF(
        h.ref,
        h.ref.ropeForward(h.ref.upload(xx, [n, 2 * D]), h.ref.upload(pos, [n]), o),
      );
      expectClose(`rope ${style} D=128`, got, want, { abs: 2e-6 });
    }
  });

  for (const style of ['half', 'interleaved'] as const) {
    const o: RopeOptions = { heads, headDim, theta: 10000, style };
    it(`${style}: forward and backward`, async (ctx) => {
      const d = h.dawn(ctx);
      const shape = [N, heads * headDim];
      const got = await readF(d, d.ropeForward(d.upload(x, shape), d.upload(positions, [N]), o));
      const want = await readF(
        h.ref,
        h.ref.ropeForward(h.ref.upload(x, shape), h.ref.upload(positions, [N]), o),
      );
      expectClose(`rope ${style} forward`, got, want, { abs: 2e-6 });

      const back = await readF(d, d.ropeBackward(d.upload(x, shape), d.upload(positions, [N]), o));
      const posRef = h.ref.upload(positions, [N]);
      expectFiniteDifferences(
        h.ref,
        `rope ${style} backward`,
        { grad: back, x, shape, forward: (xx) => h.ref.ropeForward(xx, posRef, o), weights: x },
        { abs: 1e-4 },
      );
    });
  }
});
