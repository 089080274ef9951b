import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { expectTensorClose, readF, useDawn } from '../testing/harness.js';

/**
 * Dispatches past 65,535 workgroups spill into y (kernel.ts `grid`); every kernel linearises
 * the workgroup id. Real models hit this (e.g. an embedding gather of 32k tokens × 896).
 */
describe('dispatches larger than 65,535 workgroups', () => {
  const h = useDawn();

  it('elementwise add over 4.5M elements (thread-per-element spill)', async (ctx) => {
    const d = h.dawn(ctx);
    const n = 4_500_001;
    const a = randomFloats(n, 1);
    const b = randomFloats(n, 2);
    const got = await readF(d, d.add(d.upload(a, [n]), d.upload(b, [n])));
    const want = Float32Array.from(a, (x, i) => x + b[i]);
    expectClose('add 4.5M', got, want, { abs: 0 });
  });

  it('rmsnorm over 70,001 rows (workgroup-per-row spill)', async (ctx) => {
    const d = h.dawn(ctx);
    const [N, C] = [70_001, 3];
    const x = randomFloats(N * C, 3);
    const w = randomFloats(C, 4);
    const got = d.rmsnormForward(d.upload(x, [N, C]), d.upload(w, [C]), 1e-6);
    const want = h.ref.rmsnormForward(h.ref.upload(x, [N, C]), h.ref.upload(w, [C]), 1e-6);
    await expectTensorClose(h, d, 'rmsnorm 70k rows', got.out, want.out, {
      abs: 1e-5,
      rel: 1e-5,
    });
  });
});
