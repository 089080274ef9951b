import { createReferenceBackend } from '@oneshot-em/core';
import { describe, expect, it, vi } from 'vitest';
import { createDawnBackend } from '../../dawn-backend.js';
import { expectMatmulClose, isCi, useDawn } from '../../testing/harness.js';
import { gemv4Team } from './matmul.js';
import { chooseMatmul } from './variant.js';

const all = { gemv: true, gemv4: true, tile64: true, tile128: true, sgmat: true };
const only = (v: keyof typeof all) => ({ ...all, [v]: false });

describe('matmul variant choice (pure, any adapter)', () => {
  it("'auto': gemv4 for M ≤ 8, tile64 for M and N ≥ 64, else tile16", () => {
    expect(chooseMatmul('auto', 1, 151936, all)).toBe('gemv4');
    expect(chooseMatmul('auto', 8, 64, all)).toBe('gemv4');
    expect(chooseMatmul('auto', 9, 4096, all)).toBe('tile16');
    expect(chooseMatmul('auto', 4096, 896, all)).toBe('tile64');
    expect(chooseMatmul('auto', 4096, 32, all)).toBe('tile16');
  });
  it('a variant that failed validation is never chosen; explicit ones apply where they fit', () => {
    expect(chooseMatmul('auto', 1, 999, only('gemv4'))).toBe('gemv');
    expect(chooseMatmul('auto', 1, 999, { ...only('gemv'), gemv4: false })).toBe('tile16');
    expect(chooseMatmul('auto', 512, 512, only('tile64'))).toBe('tile16');
    expect(chooseMatmul('gemv4', 1, 999, only('gemv4'))).toBe('tile16');
    expect(chooseMatmul('tile128', 512, 512, only('tile128'))).toBe('tile16');
    expect(chooseMatmul('tile16', 1, 999, all)).toBe('tile16');
    expect(chooseMatmul('gemv', 64, 999, all)).toBe('tile16');
    expect(chooseMatmul('tile64', 8, 999, all)).toBe('tile16');
    expect(chooseMatmul('tile64', 64, 8, all)).toBe('tile64');
    expect(chooseMatmul('gemv4', 8, 151936, all)).toBe('gemv4');
    expect(chooseMatmul('gemv4', 9, 151936, all)).toBe('tile16');
    expect(chooseMatmul('tile128', 128, 8, all)).toBe('tile128');
    expect(chooseMatmul('tile128', 127, 4096, all)).toBe('tile16');
  });
});

// gemv and gemv4 against the f64 reference: M from 1 to 8, every transposition, K = 131 (not a
// multiple of the workgroup nor of 4: gemv4's scalar tail; odd rows of b start at odd
// elements: bf16's unaligned read_b4) and N = 75 (partial workgroups, a partial column quad);
// the f32 sum order differs from the reference's only
for (const [variant, dtype] of (['gemv', 'gemv4'] as const).flatMap((v) =>
  (['f32', 'bf16', 'f16'] as const).map((d) => [v, d] as const),
)) {
  describe(`${variant} (${dtype} weights) vs the CPU reference`, () => {
    const h = useDawn({ matmul: variant, dtype });
    for (const M of [1, 3, 8]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`M ${M} transA ${transA} transB ${transB}`, async (ctx) => {
            const d = h.dawn(ctx);
            // else tile16 would be tested here
            expect(d.matmulVariants[variant]).toBe(true);
            await expectMatmulClose(
              h.ref,
              d,
              `${variant} ${dtype}`,
              { M, K: 131, N: 75, transA, transB },
              [41, 42],
              { abs: 2e-5, rel: 2e-5 },
              dtype,
            );
          });
        }
      }
    }
  });
}

describe('gemv4 across team sizes (threads per column, from N)', () => {
  const h = useDawn({ matmul: 'gemv4' });
  it('gemv4Team: 8 threads a column for the head, more for narrow projections', () => {
    expect([151936, 40000, 32768, 4864, 896, 75].map(gemv4Team)).toEqual([8, 8, 8, 64, 256, 256]);
  });
  for (const [M, K, N] of [
    [3, 131, 40000],
    [8, 264, 4864],
    [1, 4, 2100],
  ] as const) {
    it(`[${M}, ${K}]·[${N}, ${K}]ᵀ (team ${gemv4Team(N)})`, async (ctx) => {
      const d = h.dawn(ctx);
      const c = { M, K, N, transA: false, transB: true };
      await expectMatmulClose(h.ref, d, `gemv4 N ${N}`, c, [61, 62], { abs: 3e-5, rel: 2e-5 });
    });
  }
});

describe('a matmul variant that fails validation falls back with one line on stderr', () => {
  it('broken gemv, gemv4 and tile64: a notice each, and tile16 gives the same products', async (ctx) => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    let d: Awaited<ReturnType<typeof createDawnBackend>>;
    try {
      d = await createDawnBackend({ breakMatmulVariants: ['gemv', 'gemv4', 'tile64'] });
    } catch (err) {
      spy.mockRestore();
      if (isCi()) throw err;
      ctx.skip(`no Dawn adapter: ${(err as Error).message}`);
      return;
    }
    spy.mockRestore();
    try {
      const notices = lines.filter((l) => l.includes('failed validation, using tile16'));
      expect(notices).toHaveLength(3);
      expect(notices[0]).toMatch(
        /^oneshot-em: dawn matmul variant gemv \(matmul-gemv\/gemv_rows\)/,
      );
      expect(notices[1]).toMatch(/variant gemv4 \(matmul-gemv4\/gemv4_rows\)/);
      expect(notices[2]).toMatch(/variant tile64/);
      for (const l of notices) expect(l.trim().split('\n')).toHaveLength(1);
      expect(d.matmulVariants).toEqual({
        gemv: false,
        gemv4: false,
        tile64: false,
        tile128: true,
        sgmat: d.features.subgroupMatrix,
      });
      const ref = useDawnRef();
      for (const [M, K, N] of [
        [1, 37, 19],
        [70, 33, 65],
      ]) {
        const c = { M, K, N, transA: false, transB: true };
        await expectMatmulClose(ref, d, `fallback M ${M}`, c, [1, 2], { abs: 1e-5, rel: 1e-5 });
      }
    } finally {
      await d.destroy();
    }
  });
});

const useDawnRef = () => createReferenceBackend({ precision: 'f64' });
