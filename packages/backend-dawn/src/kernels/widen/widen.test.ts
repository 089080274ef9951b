import { bf16ToF32, f16ToF32 } from '@oneshot-em/core';
import { randomFloats } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { DawnTensor } from '../../runtime/tensor.js';
import { useDawn } from '../../testing/harness.js';

/**
 * A weight that keeps only its compute copy (`keepComputeCopyOnly`: the optimizer on the host
 * holds the f32 master): matmul and sumSquares read the copy, f32 reads are refused by name,
 * vectors keep their f32 buffer. maxBindingBytes 2048 splits the [40, 24] matrix into two row
 * segments, so the widening walks segments too.
 */
for (const dtype of ['bf16', 'f16'] as const) {
  describe(`compute-copy-only weights (${dtype})`, () => {
    const h = useDawn({ dtype, maxBindingBytes: 2048 });
    const widen = dtype === 'bf16' ? bf16ToF32 : f16ToF32;

    for (const shape of [
      [40, 24],
      [6, 8],
    ]) {
      it(`[${shape}]: matmul as with the f32 master, sumSquares of the copy's values, f32 reads refused`, async (ctx) => {
        const d = h.dawn(ctx);
        const live = d.liveBuffers();
        const [n, k] = shape;
        const values = randomFloats(n * k, 11 + n, 3);
        const onlyCopy = d.upload(values, shape);
        d.keepComputeCopyOnly(onlyCopy);
        expect(DawnTensor.isSplit(onlyCopy)).toBe(n === 40);
        const withMaster = d.upload(values, shape);
        const x = d.upload(randomFloats(3 * k, 5), [3, k]);

        // the same compute copy either way: the products are the same bits
        const a = d.matmul(x, onlyCopy, { transB: true });
        const b = d.matmul(x, withMaster, { transB: true });
        expect(Array.from(await d.read(a))).toEqual(Array.from(await d.read(b)));

        const bits = await d.readComputeCopy(onlyCopy);
        if (!bits) throw new Error('no compute copy');
        let want = 0;
        for (const v of widen(bits)) want += v * v; // f64 on the host
        const ss = d.sumSquares(onlyCopy);
        const [got] = await d.read(ss);
        // f32 partial sums of ≤ 960 positive terms: a few ulps of f32
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * want);

        await expect(d.read(onlyCopy)).rejects.toThrow(
          `keeps only its ${dtype} compute copy on the device`,
        );
        for (const t of [onlyCopy, withMaster, x, a, b, ss]) d.dispose(t);
        expect(d.liveBuffers()).toBe(live);
      });
    }

    it('a vector keeps its f32 buffer (rmsnorm and addBias read it in f32)', async (ctx) => {
      const d = h.dawn(ctx);
      const values = randomFloats(24, 3);
      const v = d.upload(values, [24]);
      d.keepComputeCopyOnly(v);
      expect(Array.from(await d.read(v))).toEqual(Array.from(values));
      expect(await d.readComputeCopy(v)).toBeUndefined();
      d.dispose(v);
    });
  });
}
