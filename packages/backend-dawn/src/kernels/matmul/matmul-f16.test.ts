import { maxAbsDiff, randomFloats } from '@oneshot-em/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { createDawnBackend, type DawnBackend } from '../../dawn-backend.js';
import { readF, useDawn } from '../../testing/harness.js';

/**
 * The opt-in f16 matmul (`f16: true`) against the f64 reference. Its error is not fp32's: each
 * operand is rounded to f16 (unit roundoff u = 2⁻¹¹) and so is each product, so the bound per
 * output is 3u·Σ_k |a_ik·b_kj| (plus fp32's summation error K·2⁻²⁴ of the same sum, and an
 * absolute K·2⁻²³ for inputs in f16's subnormal range). Checked element by element, and the
 * result must differ from the fp32 kernel's (else the f16 path was not taken).
 */
describe('matmul (f16 option) vs the CPU reference, within f16 rounding bounds', () => {
  const h = useDawn();
  let f16: DawnBackend | undefined;
  afterAll(async () => {
    await f16?.destroy();
  });
  async function backends(ctx: TestContext): Promise<{ fp32: DawnBackend; f16: DawnBackend }> {
    const fp32 = h.dawn(ctx);
    if (!fp32.features.f16) ctx.skip(`adapter "${fp32.adapter.description}" has no shader-f16`);
    f16 ??= await createDawnBackend({ f16: true });
    return { fp32, f16 };
  }

  const shapes = [
    [19, 37, 23], // odd: edges of every tile
    [5, 300, 130], // K over many tiles: the f32 sum over K
  ];
  for (const [M, K, N] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      it(`[${M}, ${K}] · [${K}, ${N}], transA ${transA}, transB ${transB}`, async (ctx) => {
        const d = await backends(ctx);
        const aShape = transA ? [K, M] : [M, K];
        const bShape = transB ? [N, K] : [K, N];
        const a = randomFloats(M * K, 41 + K);
        const b = randomFloats(K * N, 42 + K);
        const opts = { transA, transB };
        const got = await readF(
          d.f16,
          d.f16.matmul(d.f16.upload(a, aShape), d.f16.upload(b, bShape), opts),
        );
        const fp32 = await readF(
          d.fp32,
          d.fp32.matmul(d.fp32.upload(a, aShape), d.fp32.upload(b, bShape), opts),
        );
        const want = h.ref.readExact(
          h.ref.matmul(h.ref.upload(a, aShape), h.ref.upload(b, bShape), opts),
        );
        const opA = (i: number, k: number) => (transA ? a[k * M + i] : a[i * K + k]);
        const opB = (k: number, j: number) => (transB ? b[j * K + k] : b[k * N + j]);
        const u = 2 ** -11;
        const bad: string[] = [];
        let worst = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let absSum = 0;
            for (let k = 0; k < K; k++) absSum += Math.abs(opA(i, k) * opB(k, j));
            const bound = (3 * u * 1.001 + K * 2 ** -24) * absSum + K * 2 ** -23;
            const diff = Math.abs(got[i * N + j] - want[i * N + j]);
            worst = Math.max(worst, diff / bound);
            if (!(diff <= bound) && bad.length < 8)
              bad.push(
                `  [${i}, ${j}] got ${got[i * N + j]}, expected ${want[i * N + j]}, bound ${bound}`,
              );
          }
        }
        if (bad.length > 0)
          throw new Error(
            `f16 matmul outside its rounding bound (worst diff/bound ${worst}):\n${bad.join('\n')}`,
          );
        // f16 rounding of inputs in [-1, 1] moves results by ~1e-4; fp32 would stay within ~1e-6.
        expect(maxAbsDiff(got, fp32)).toBeGreaterThan(1e-5);
      });
    }
  }

  it('refuses f16 without shader-f16, and with the tile64 kernel', async (ctx) => {
    h.dawn(ctx);
    await expect(createDawnBackend({ f16: true, disableF16: true })).rejects.toThrow(
      /f16 needs the shader-f16 feature, which disableF16 turns off/,
    );
    await expect(createDawnBackend({ f16: true, matmul: 'tile64' })).rejects.toThrow(
      /f16 has only a 16×16-tile matmul/,
    );
  });
});
