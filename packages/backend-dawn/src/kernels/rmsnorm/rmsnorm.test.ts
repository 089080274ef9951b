import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import type { TensorOps } from '@oneshot-em/core';
import { describe, it } from 'vitest';
import {
  expectFiniteDifferences,
  expectTensorClose,
  readF,
  reductionPaths,
  useDawn,
} from '../../testing/harness.js';

describe.each(reductionPaths)(
  'rmsnorm forward/backward vs the CPU reference and finite differences ($reduction)',
  ({ reduction, options }) => {
    const h = useDawn(options, reduction);
    const [N, C] = [7, 83]; // C not a multiple of the workgroup size
    const eps = 1e-5;
    const x = randomFloats(N * C, 31);
    const w = randomFloats(C, 32);
    const dOut = randomFloats(N * C, 33);
    // the forward's rstd feeds the backward, on each backend
    const backward = (ops: TensorOps, xs: Float32Array, dy: Float32Array, n: number) => {
      const [xt, wt] = [ops.upload(xs, [n, C]), ops.upload(w, [C])];
      const { rstd } = ops.rmsnormForward(xt, wt, eps);
      return ops.rmsnormBackward(xt, wt, rstd, ops.upload(dy, [n, C]));
    };

    it('forward: out and rstd', async (ctx) => {
      const d = h.dawn(ctx);
      const got = d.rmsnormForward(d.upload(x, [N, C]), d.upload(w, [C]), eps);
      const want = h.ref.rmsnormForward(h.ref.upload(x, [N, C]), h.ref.upload(w, [C]), eps);
      await expectTensorClose(h, d, 'rmsnorm out', got.out, want.out, {
        abs: 1e-5,
        rel: 1e-5,
      });
      await expectTensorClose(h, d, 'rmsnorm rstd', got.rstd, want.rstd, {
        abs: 1e-5,
        rel: 1e-5,
      });
    });

    it('backward over 1000 rows (dWeight from chunked column partials)', async (ctx) => {
      const d = h.dawn(ctx);
      const n = 1000;
      const xs = randomFloats(n * C, 34);
      const dy = randomFloats(n * C, 35);
      const got = backward(d, xs, dy, n);
      const want = backward(h.ref, xs, dy, n);
      await expectTensorClose(h, d, 'dWeight, 1000 rows', got.dWeight, want.dWeight, {
        abs: 1e-4,
        rel: 1e-4,
      });
    });

    it('backward: dInput and dWeight vs the reference and finite differences', async (ctx) => {
      const d = h.dawn(ctx);
      const got = backward(d, x, dOut, N);
      const want = backward(h.ref, x, dOut, N);
      const dInput = await readF(d, got.dInput);
      const dWeight = await readF(d, got.dWeight);
      expectClose('rmsnorm dInput', dInput, await readF(h.ref, want.dInput), {
        abs: 1e-5,
        rel: 1e-4,
      });
      expectClose('rmsnorm dWeight', dWeight, await readF(h.ref, want.dWeight), {
        abs: 1e-5,
        rel: 1e-4,
      });

      const wRef = h.ref.uploadExact(Float64Array.from(w), [C]);
      const xRef = h.ref.uploadExact(Float64Array.from(x), [N, C]);
      const tol = { abs: 1e-3, rel: 1e-3 };
      expectFiniteDifferences(
        h.ref,
        'dInput',
        {
          grad: dInput,
          x,
          shape: [N, C],
          forward: (xx) => h.ref.rmsnormForward(xx, wRef, eps).out,
          weights: dOut,
        },
        tol,
      );
      expectFiniteDifferences(
        h.ref,
        'dWeight',
        {
          grad: dWeight,
          x: w,
          shape: [C],
          forward: (ww) => h.ref.rmsnormForward(xRef, ww, eps).out,
          weights: dOut,
        },
        tol,
      );
    });
  },
);
