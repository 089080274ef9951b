import { expectClose, randomFloats } from '@oneshot-em/core/testing';
/**
 * The subgroup-matrix variant (sgmat): feature detection from the adapter's configs, the
 * choice rules, and on the adapter at hand either the products (where the adapter has the
 * feature) or the fallback with its one-line notice (where it does not: lavapipe).
 */
import { describe, expect, it, vi } from 'vitest';
import { createDawnBackend } from '../../dawn-backend.js';
import {
  describeDawnAdapters,
  SUBGROUP_MATRIX_FEATURE,
  subgroupMatrixShape,
} from '../../runtime/device.js';
import { fromF16Bits, readF, toF16Bits, useDawn } from '../../testing/harness.js';
import { chooseMatmul } from './variant.js';

const f16f32 = { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 };
const f16f16 = { componentType: 'f16', resultComponentType: 'f16', M: 8, N: 8, K: 8 };

describe('subgroup-matrix detection and choice (pure)', () => {
  it('takes the f16 → f32 config, and needs the feature, shader-f16 and subgroupMaxSize', () => {
    const both = new Set([SUBGROUP_MATRIX_FEATURE, 'shader-f16']);
    const info = { subgroupMaxSize: 32, subgroupMatrixConfigs: [f16f16, f16f32] };
    expect(subgroupMatrixShape(both, info)).toEqual({ m: 16, n: 16, k: 16, subgroupMaxSize: 32 });
    expect(subgroupMatrixShape(new Set(['shader-f16']), info)).toBeUndefined();
    expect(subgroupMatrixShape(new Set([SUBGROUP_MATRIX_FEATURE]), info)).toBeUndefined();
    expect(subgroupMatrixShape(both, { ...info, subgroupMatrixConfigs: [f16f16] })).toBeUndefined();
    expect(subgroupMatrixShape(both, { subgroupMatrixConfigs: [f16f32] })).toBeUndefined();
  });
  it("'auto' never picks sgmat (f16 operands); asked for, it runs at M ≥ 64 where it validated", () => {
    const all = { gemv: true, gemv4: true, tile64: true, tile128: true, sgmat: true };
    expect(chooseMatmul('auto', 4096, 4096, all)).toBe('tile64');
    expect(chooseMatmul('sgmat', 4096, 4096, all)).toBe('sgmat');
    expect(chooseMatmul('sgmat', 63, 4096, all)).toBe('tile16');
    expect(chooseMatmul('sgmat', 4096, 4096, { ...all, sgmat: false })).toBe('tile16');
  });
});

describe('sgmat on this adapter', () => {
  const h = useDawn({ matmul: 'sgmat' });

  it('is available exactly when the adapter lists the feature with an f16 → f32 config', async (ctx) => {
    const d = h.dawn(ctx);
    const [info] = await describeDawnAdapters();
    const listed = info.features.includes(SUBGROUP_MATRIX_FEATURE);
    if (!listed || !d.features.f16) expect(d.features.subgroupMatrix).toBe(false);
    // validation may still refuse it (a notice): never available without the feature
    if (!d.features.subgroupMatrix) expect(d.matmulVariants.sgmat).toBe(false);
  });

  it('products vs the f64 matmul of the f16-rounded operands (or tile16 without the feature)', async (ctx) => {
    const d = h.dawn(ctx);
    const [M, K, N] = [131, 45, 77]; // not multiples of any fragment or tile
    for (const [transA, transB] of [
      [false, true],
      [true, false],
    ] as const) {
      const aShape = transA ? [K, M] : [M, K];
      const bShape = transB ? [N, K] : [K, N];
      const a = randomFloats(M * K, 51);
      const b = randomFloats(K * N, 52);
      const got = await readF(
        d,
        d.matmul(d.upload(a, aShape), d.upload(b, bShape), { transA, transB }),
      );
      const round = (x: Float32Array) =>
        d.matmulVariants.sgmat ? Float32Array.from(x, (v) => fromF16Bits(toF16Bits(v))) : x;
      const want = await readF(
        h.ref,
        h.ref.matmul(h.ref.upload(round(a), aShape), h.ref.upload(round(b), bShape), {
          transA,
          transB,
        }),
      );
      // exact products of f16 values, f32 sums of 45 terms < 1 in another order
      expectClose(`sgmat transA ${transA} transB ${transB}`, got, want, { abs: 2e-5, rel: 1e-5 });
    }
  });

  it('experimentalFeatures: Dawn starts with the toggles, detection and products unchanged', async (ctx) => {
    const plain = h.dawn(ctx);
    const d = await createDawnBackend({ experimentalFeatures: true });
    try {
      // the toggles may only add the feature, never take another away
      expect(d.features.subgroups).toBe(plain.features.subgroups);
      expect(d.features.f16).toBe(plain.features.f16);
      if (!d.features.subgroupMatrix) expect(d.matmulVariants.sgmat).toBe(false);
      const a = randomFloats(5 * 7, 53);
      const b = randomFloats(7 * 3, 54);
      const got = await readF(d, d.matmul(d.upload(a, [5, 7]), d.upload(b, [7, 3])));
      const want = await readF(
        h.ref,
        h.ref.matmul(h.ref.upload(a, [5, 7]), h.ref.upload(b, [7, 3])),
      );
      expectClose('matmul with the experimental toggles', got, want, { abs: 1e-5, rel: 1e-5 });
    } finally {
      await d.destroy();
    }
  });

  it('asked for without the feature: one line on stderr, then tile16', async (ctx) => {
    if (h.dawn(ctx).features.subgroupMatrix) ctx.skip('the adapter has subgroup matrices');
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const d = await createDawnBackend({ matmul: 'sgmat' }).finally(() => spy.mockRestore());
    try {
      const notices = lines.filter((l) => l.includes('variant sgmat'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(
        new RegExp(`needs the adapter feature ${SUBGROUP_MATRIX_FEATURE}`),
      );
      expect(notices[0].trim().split('\n')).toHaveLength(1);
    } finally {
      await d.destroy();
    }
  });
});
