import { expectClose, randomFloats } from '@oneshot-em/core/testing';
/**
 * The 128×128 register-tiled matmul (matmul: 'tile128') against the f64 reference, for each
 * weight storage: every transposition, M, N not multiples of the tile, K not a multiple of
 * BK = 8 (the zero-padded last step) and K long enough for many double-buffered steps; and as
 * split blocks (operand offsets, K blocks that accumulate into out).
 */
import type { TensorOps } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { DawnTensor } from '../../runtime/tensor.js';
import { expectMatmulClose, useDawn } from '../../testing/harness.js';

const SHAPES = [
  [259, 37, 133],
  [128, 8, 128],
  [130, 300, 257],
] as const;

for (const dtype of ['f32', 'bf16', 'f16'] as const) {
  describe(`tile128 (${dtype} weights) vs the CPU reference`, () => {
    const h = useDawn({ matmul: 'tile128', dtype });
    for (const [M, K, N] of SHAPES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`[${M}, ${K}]·[${K}, ${N}] transA ${transA} transB ${transB}`, async (ctx) => {
            const d = h.dawn(ctx);
            // else tile16 would be tested here
            expect(d.matmulVariants.tile128).toBe(true);
            // f32 sums of ≤ 300 products of |a·b| < 1 in another order than the f64 oracle's
            await expectMatmulClose(
              h.ref,
              d,
              `tile128 ${dtype}`,
              { M, K, N, transA, transB },
              [31, 32],
              { abs: 5e-5, rel: 1e-5 },
              dtype,
            );
          });
        }
      }
    }
  });
}

describe('split matmuls on tile128 (segments of ≥ 128 rows)', () => {
  const CAP = 128 * 1024;
  const hs = useDawn({ maxBindingBytes: CAP, matmul: 'tile128' });
  const hw = useDawn({ matmul: 'tile128' });
  // z [300, 200] = 800 B a row: segments of 160 and 140 rows (each a tile128 block); x and W whole
  const [M, C, V] = [300, 40, 200];
  const x = randomFloats(M * C, 41);
  const table = randomFloats(V * C, 42);

  it('z = x·Wᵀ (offsets into x; bit-identical) and dW = zᵀ·x (K cut: blocks accumulate)', async (ctx) => {
    const s = hs.dawn(ctx);
    const w = hw.dawn(ctx);
    const run = (ops: TensorOps) => {
      const z = ops.matmul(ops.upload(x, [M, C]), ops.upload(table, [V, C]), { transB: true });
      return { z, dw: ops.matmul(z, ops.upload(x, [M, C]), { transA: true }) };
    };
    const [a, b, r] = [run(s), run(w), run(hw.ref)];
    expect(DawnTensor.segments(a.z).map((g) => g.rows)).toEqual([160, 140]);
    const z = await s.read(a.z);
    expectClose('tile128 split logits', z, await w.read(b.z), { abs: 0 });
    expectClose('tile128 logits vs f64', z, await hw.ref.read(r.z), { abs: 2e-5, rel: 1e-5 });
    const dw = await s.read(a.dw);
    expectClose('tile128 split dW', dw, await w.read(b.dw), { abs: 1e-4, rel: 1e-5 });
    // K = 300 products of |z·x| ≲ 10
    expectClose('tile128 dW vs f64', dw, await hw.ref.read(r.dw), { abs: 2e-4, rel: 1e-5 });
  });
});
