import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { readF, useDawn } from '../../testing/harness.js';

for (const variant of ['tile16', 'tile64'] as const) {
  describe(`matmul (${variant}) vs the CPU reference`, () => {
    const h = useDawn({ matmul: variant });
    // M, K, N deliberately not multiples of the tiles (tile64 needs M ≥ 64)
    const [M, K, N] = variant === 'tile16' ? [19, 37, 23] : [131, 37, 75];

    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`transA ${transA}, transB ${transB}`, async (ctx) => {
          const d = h.dawn(ctx);
          const aShape = transA ? [K, M] : [M, K];
          const bShape = transB ? [N, K] : [K, N];
          const a = randomFloats(M * K, 11);
          const b = randomFloats(K * N, 12);
          const got = await readF(
            d,
            d.matmul(d.upload(a, aShape), d.upload(b, bShape), { transA, transB }),
          );
          const want = await readF(
            h.ref,
            h.ref.matmul(h.ref.upload(a, aShape), h.ref.upload(b, bShape), { transA, transB }),
          );
          expectClose(`matmul transA=${transA} transB=${transB}`, got, want, {
            abs: 1e-5,
            rel: 1e-5,
          });
        });
      }
    }

    it('a single row times a wide matrix (the LM head at decode)', async (ctx) => {
      const d = h.dawn(ctx);
      const [m, k, n] = [1, 64, 517];
      const a = randomFloats(m * k, 13);
      const w = randomFloats(n * k, 14);
      const got = await readF(
        d,
        d.matmul(d.upload(a, [m, k]), d.upload(w, [n, k]), { transB: true }),
      );
      const want = await readF(
        h.ref,
        h.ref.matmul(h.ref.upload(a, [m, k]), h.ref.upload(w, [n, k]), { transB: true }),
      );
      expectClose('matmul row × wide', got, want, { abs: 1e-5, rel: 1e-5 });
    });
  });
}
