import { describe, it } from 'vitest';
import { expectMatmulClose, useDawn } from '../../testing/harness.js';

for (const variant of ['tile16', 'tile64'] as const) {
  describe(`matmul (${variant}) vs the CPU reference`, () => {
    const h = useDawn({ matmul: variant });
    // M, K, N deliberately not multiples of the tiles (tile64 needs M ≥ 64)
    const [M, K, N] = variant === 'tile16' ? [19, 37, 23] : [131, 37, 75];

    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`transA ${transA}, transB ${transB}`, async (ctx) => {
          const d = h.dawn(ctx);
          await expectMatmulClose(
            h.ref,
            d,
            `matmul transA=${transA} transB=${transB}`,
            { M, K, N, transA, transB },
            [11, 12],
            { abs: 1e-5, rel: 1e-5 },
          );
        });
      }
    }

    it('a single row times a wide matrix (the LM head at decode)', async (ctx) => {
      const d = h.dawn(ctx);
      const c = { M: 1, K: 64, N: 517, transA: false, transB: true };
      await expectMatmulClose(h.ref, d, 'matmul row × wide', c, [13, 14], { abs: 1e-5, rel: 1e-5 });
    });
  });
}
