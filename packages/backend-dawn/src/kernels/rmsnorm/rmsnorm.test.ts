import {
  expectClose,
  finiteDifferences,
  randomFloats,
  sampleIndices,
  weightedSum,
} from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { readF, reductionPaths, useDawn } from '../../testing/harness.js';

describe.each(reductionPaths)(
  'rmsnorm forward/backward vs the CPU reference and finite differences ($reduction)',
  ({ reduction, options }) => {
    const h = useDawn(options, reduction);
    const [N, C] = [7, 83]; // C not a multiple of the workgroup size
    const eps = 1e-5;
    const x = randomFloats(N * C, 31);
    const w = randomFloats(C, 32);
    const dOut = randomFloats(N * C, 33);

    it('forward: out and rstd', async (ctx) => {
      const d = h.dawn(ctx);
      const got = d.rmsnormForward(d.upload(x, [N, C]), d.upload(w, [C]), eps);
      const want = h.ref.rmsnormForward(h.ref.upload(x, [N, C]), h.ref.upload(w, [C]), eps);
      expectClose('rmsnorm out', await readF(d, got.out), await readF(h.ref, want.out), {
        abs: 1e-5,
        rel: 1e-5,
      });
      expectClose('rmsnorm rstd', await readF(d, got.rstd), await readF(h.ref, want.rstd), {
        abs: 1e-5,
        rel: 1e-5,
      });
    });

    it('backward over 1000 rows (dWeight from chunked column partials)', async (ctx) => {
      const d = h.dawn(ctx);
      const n = 1000;
      const xs = randomFloats(n * C, 34);
      const dy = randomFloats(n * C, 35);
      const fw = d.rmsnormForward(d.upload(xs, [n, C]), d.upload(w, [C]), eps);
      const got = d.rmsnormBackward(
        d.upload(xs, [n, C]),
        d.upload(w, [C]),
        fw.rstd,
        d.upload(dy, [n, C]),
      );
      const rf = h.ref.rmsnormForward(h.ref.upload(xs, [n, C]), h.ref.upload(w, [C]), eps);
      const want = h.ref.rmsnormBackward(
        h.ref.upload(xs, [n, C]),
        h.ref.upload(w, [C]),
        rf.rstd,
        h.ref.upload(dy, [n, C]),
      );
      expectClose(
        'dWeight, 1000 rows',
        await readF(d, got.dWeight),
        await readF(h.ref, want.dWeight),
        { abs: 1e-4, rel: 1e-4 },
      );
    });

    it('backward: dInput and dWeight vs the reference and finite differences', async (ctx) => {
      const d = h.dawn(ctx);
      const fw = d.rmsnormForward(d.upload(x, [N, C]), d.upload(w, [C]), eps);
      const got = d.rmsnormBackward(
        d.upload(x, [N, C]),
        d.upload(w, [C]),
        fw.rstd,
        d.upload(dOut, [N, C]),
      );
      const rf = h.ref.rmsnormForward(h.ref.upload(x, [N, C]), h.ref.upload(w, [C]), eps);
      const want = h.ref.rmsnormBackward(
        h.ref.upload(x, [N, C]),
        h.ref.upload(w, [C]),
        rf.rstd,
        h.ref.upload(dOut, [N, C]),
      );
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
      const xc = sampleIndices(N * C, 6);
      const fdX = finiteDifferences(
        (xx) =>
          weightedSum(
            dOut,
            h.ref.readExact(
              h.ref.rmsnormForward(h.ref.uploadExact(xx, [N, C]), wRef, eps).out,
            ) as Float64Array,
          ),
        Float64Array.from(x),
        { indices: xc },
      );
      expectClose(
        'dInput vs finite differences',
        xc.map((i) => dInput[i]),
        fdX,
        { abs: 1e-3, rel: 1e-3 },
      );
      const xRef = h.ref.uploadExact(Float64Array.from(x), [N, C]);
      const wc = sampleIndices(C, 6);
      const fdW = finiteDifferences(
        (ww) =>
          weightedSum(
            dOut,
            h.ref.readExact(
              h.ref.rmsnormForward(xRef, h.ref.uploadExact(ww, [C]), eps).out,
            ) as Float64Array,
          ),
        Float64Array.from(w),
        { indices: wc },
      );
      expectClose(
        'dWeight vs finite differences',
        wc.map((i) => dWeight[i]),
        fdW,
        { abs: 1e-3, rel: 1e-3 },
      );
    });
  },
);
