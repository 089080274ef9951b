import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from '../dawn-backend.js';
import {
  fromBf16Bits,
  fromF16Bits,
  readF,
  toBf16Bits,
  toF16Bits,
  useDawn,
} from '../testing/harness.js';
import type { WeightDtype } from './weights.js';

const round: Record<Exclude<WeightDtype, 'f32'>, (x: number) => number> = {
  bf16: (x) => fromBf16Bits(toBf16Bits(x)),
  f16: (x) => fromF16Bits(toF16Bits(x)),
};
const bits = { bf16: toBf16Bits, f16: toF16Bits };

describe('host bf16 / f16 rounding (the oracle of the device copies)', () => {
  it('rounds to nearest even at the halfway points', () => {
    // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: even → 1; 1 + 3·2^-8 → 1 + 2^-6
    expect(round.bf16(1 + 2 ** -8)).toBe(1);
    expect(round.bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(round.f16(1 + 2 ** -11)).toBe(1);
    expect(round.f16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(round.f16(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(round.f16(2 ** -25 * 3)).toBe(2 ** -23); // subnormal, halfway up to even
    expect(Number.isNaN(round.bf16(Number.NaN))).toBe(true);
  });
});

for (const dtype of ['bf16', 'f16'] as const) {
  describe(`--dtype ${dtype}: weights read from the compute copy, f32 sums`, () => {
    const h = useDawn({ dtype });

    it('the compute copy is the master rounded to nearest even, bit for bit', async (ctx) => {
      const d = h.dawn(ctx);
      const w = randomFloats(37 * 29, 3, 4);
      const t = d.upload(w, [37, 29]);
      d.dispose(d.matmul(d.upload(randomFloats(29, 4), [1, 29]), t, { transB: true }));
      const copy = await d.readComputeCopy(t);
      expect(copy).toBeDefined();
      const want = Uint16Array.from(w, bits[dtype]);
      expect(Array.from(copy ?? [])).toEqual(Array.from(want));
      expect(await readF(d, t)).toEqual(w); // the master stays f32
    });

    for (const [transA, transB, M] of [
      [false, false, 5],
      [false, true, 19],
      [true, false, 70],
      [false, true, 131],
    ] as const) {
      for (const variant of ['tile16', 'tile64'] as const) {
        it(`matmul ${variant} M ${M} transA ${transA} transB ${transB} = f64 matmul of the rounded b`, async (ctx) => {
          const d = await createDawnBackend({ dtype, matmul: variant }).catch(() => h.dawn(ctx));
          try {
            const [K, N] = [37, 75];
            const aShape = transA ? [K, M] : [M, K];
            const bShape = transB ? [N, K] : [K, N];
            const a = randomFloats(M * K, 11);
            const b = randomFloats(K * N, 12);
            const got = await readF(
              d,
              d.matmul(d.upload(a, aShape), d.upload(b, bShape), { transA, transB }),
            );
            const rb = Float32Array.from(b, round[dtype]);
            const want = await readF(
              h.ref,
              h.ref.matmul(h.ref.upload(a, aShape), h.ref.upload(rb, bShape), { transA, transB }),
            );
            // only the f32 summation differs from the oracle: K = 37 terms of |a·b| ≲ 4
            expectClose(`${dtype} matmul`, got, want, { abs: 1e-5, rel: 1e-5 });
          } finally {
            if (d !== h.dawn(ctx)) await d.destroy();
          }
        });
      }
    }

    it('activations (computed on the device) stay f32 as matmul b', async (ctx) => {
      const d = h.dawn(ctx);
      const [M, K, N] = [6, 9, 11];
      const a = randomFloats(M * K, 21);
      const b = randomFloats(K * N, 22);
      const bDevice = d.scale(d.upload(b, [K, N]), 1); // computed: no compute copy
      const got = await readF(d, d.matmul(d.upload(a, [M, K]), bDevice));
      expect(await d.readComputeCopy(bDevice)).toBeUndefined();
      const want = await readF(
        h.ref,
        h.ref.matmul(h.ref.upload(a, [M, K]), h.ref.upload(b, [K, N])),
      );
      expectClose('f32 activation operand', got, want, { abs: 1e-5, rel: 1e-5 });
    });

    it('embedding gather reads the rounded table exactly', async (ctx) => {
      const d = h.dawn(ctx);
      const [V, C] = [13, 7];
      const table = randomFloats(V * C, 5);
      const ids = Int32Array.from([0, 12, 3, 3, 7, 1, 12]);
      const got = await readF(d, d.embeddingForward(d.upload(ids, [7]), d.upload(table, [V, C])));
      const rt = Float32Array.from(table, round[dtype]);
      const want = await readF(
        h.ref,
        h.ref.embeddingForward(h.ref.upload(ids, [7]), h.ref.upload(rt, [V, C])),
      );
      expect(Array.from(got)).toEqual(Array.from(want));
    });

    it('AdamW and SGD refresh the compute copy from the updated f32 master', async (ctx) => {
      const d = h.dawn(ctx);
      const [R, C] = [17, 5];
      const w = d.upload(randomFloats(R * C, 31), [R, C]);
      d.dispose(d.embeddingForward(d.upload(Int32Array.from([1]), [1]), w)); // first use as a weight
      const g = d.upload(randomFloats(R * C, 32), [R, C]);
      const m = d.zeros([R, C]);
      const v = d.zeros([R, C]);
      const p = {
        lr: 0.05,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
        step: 1,
        gradScale: 1,
      };
      d.adamwUpdate(w, g, m, v, p);
      let master = await readF(d, w);
      expect(Array.from((await d.readComputeCopy(w)) ?? [])).toEqual(
        Array.from(master, bits[dtype]),
      );
      d.sgdUpdate(w, g, { lr: 0.1, weightDecay: 0, gradScale: 1 });
      master = await readF(d, w);
      expect(Array.from((await d.readComputeCopy(w)) ?? [])).toEqual(
        Array.from(master, bits[dtype]),
      );
    });
  });
}

describe('--dtype resolution and errors', () => {
  it('auto is f32 on lavapipe (a CPU adapter) even for a bf16 base model', async () => {
    const d = await createDawnBackend({ dtype: 'auto', baseDtype: 'bf16' }).catch(() => undefined);
    if (!d) return; // no adapter: the resolution itself is tested below
    try {
      expect(d.weightDtype).toBe(d.adapter.isFallback ? 'f32' : 'bf16');
    } finally {
      await d.destroy();
    }
  });

  it('f16 without shader-f16 is an error naming the feature', async () => {
    await expect(createDawnBackend({ dtype: 'f16', disableF16: true })).rejects.toThrow(
      /--dtype f16 needs the WebGPU feature shader-f16/,
    );
  });
});

import { resolveWeightDtype } from '../dawn-backend.js';
describe('resolveWeightDtype', () => {
  it('auto: bf16 only on a GPU for a bf16 base; explicit dtypes pass through', () => {
    expect(resolveWeightDtype('auto', 'bf16', false)).toBe('bf16');
    expect(resolveWeightDtype('auto', 'bf16', true)).toBe('f32');
    expect(resolveWeightDtype('auto', 'f16', false)).toBe('f32');
    expect(resolveWeightDtype('auto', undefined, false)).toBe('f32');
    expect(resolveWeightDtype('f16', 'f32', true)).toBe('f16');
  });
});
