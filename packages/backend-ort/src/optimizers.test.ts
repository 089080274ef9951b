import {
  type AdamwState,
  expectAdamwClose,
  expectClose,
  randomFloats,
  referenceAdamwStep,
  referenceSgdStep,
  TEST_SGD_PARAMS as sgd,
  testAdamwParams as hyper,
} from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createOrtBackend } from './ort-backend.js';
import { testDevice } from './testing/device.js';

// 257 × 300 = 77,100 elements: above the inline limit (2¹⁶), so the worker pool runs it.
const shape = [257, 300];
const n = 257 * 300;

/** Column sums of a [257, 300] array in f64 (what sumRows computes, up to f32 rounding). */
function columnSums(x: Float32Array): Float64Array {
  const out = new Float64Array(300);
  for (let r = 0; r < 257; r++) for (let c = 0; c < 300; c++) out[c] += x[r * 300 + c];
  return out;
}

describe('ort backend optimizers (host, in place, worker pool)', () => {
  it('AdamW on a pooled tensor matches the CPU reference (m, v bit-for-bit, p within its bound); moments in shared memory still feed graphs', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const [p, m, v] = [be.upload(randomFloats(n, 1), shape), be.zeros(shape), be.zeros(shape)];
    let want: AdamwState = {
      p: new Float32Array(n),
      m: new Float32Array(n),
      v: new Float32Array(n),
    };
    for (let step = 1; step <= 3; step++) {
      const g = randomFloats(n, 10 + step);
      const before = (await be.read(p)) as Float32Array;
      be.adamwUpdate(p, be.upload(g, shape), m, v, hyper(step));
      // per step from our p (p's bound is per step), with the reference's own m and v
      want = await referenceAdamwStep({ ...want, p: before }, g, hyper(step));
      // m lives in a SharedArrayBuffer now, which onnxruntime-node refuses as an input.
      const mSums = await be.read(be.sumRows(m));
      expectClose('sumRows(m)', mSums, columnSums(want.m), { abs: 1e-4, rel: 1e-4 });
      const [gp, gm, gv] = (await Promise.all([p, m, v].map((t) => be.read(t)))) as Float32Array[];
      expectAdamwClose(`step ${step}`, { p: gp, m: gm, v: gv }, want, before);
    }
    await be.destroy();
  });

  it('a value traced before the in-place update still sees the old weights', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const p0 = randomFloats(n, 2);
    const g = randomFloats(n, 3);
    const p = be.upload(p0, shape);
    const [m, v] = [be.zeros(shape), be.zeros(shape)];
    const before = be.sumRows(p); // symbolic: computed only at the read below
    const doubled = be.scale(p, 2);
    be.adamwUpdate(p, be.upload(g, shape), m, v, hyper(1));
    const mixed = be.add(doubled, p); // 2·p_old + p_new; `doubled` itself is dropped
    be.dispose(doubled);
    const pNew = (await be.read(p)) as Float32Array;
    expectClose('sumRows(p) traced before the update', await be.read(before), columnSums(p0), {
      abs: 1e-3,
      rel: 1e-4,
    });
    const mixedWant = Float32Array.from(p0, (x, i) => Math.fround(x * 2) + pNew[i]);
    expectClose('2·p_old + p_new', await be.read(mixed), mixedWant, { abs: 0 });
    // and the update itself was not disturbed by the copy it had to make
    const zeros = new Float32Array(n);
    const want = await referenceAdamwStep({ p: p0, m: zeros, v: zeros }, g, hyper(1));
    const got = (await Promise.all([m, v].map((t) => be.read(t)))) as Float32Array[];
    expectAdamwClose('p', { p: pNew, m: got[0], v: got[1] }, want, p0);
    await be.destroy();
  });

  it("sumSquares of an updated parameter is the update's own Σ p² (no graph run, no second pass); NaN when a gradient is", async () => {
    const be = await createOrtBackend({ device: testDevice() });
    for (const kind of ['adamw', 'sgd'] as const) {
      const p = be.upload(randomFloats(n, 5), shape);
      const g = randomFloats(n, 6);
      const update = () => {
        if (kind === 'adamw')
          be.adamwUpdate(p, be.upload(g, shape), be.zeros(shape), be.zeros(shape), hyper(1));
        else be.sgdUpdate(p, be.upload(g, shape), sgd);
      };
      update();
      const runs = be.runs();
      const [sum] = await be.read(be.sumSquares(p));
      expect(be.runs(), kind).toBe(runs);
      let want = 0;
      for (const x of (await be.read(p)) as Float32Array) want += x * x;
      expect(sum, kind).toBeCloseTo(Math.fround(want), 0);
      expect(Math.abs(sum - want) / want, kind).toBeLessThan(1e-6); // one f32 rounding
      g[n - 7] = Number.NaN;
      update();
      const [bad] = await be.read(be.sumSquares(p));
      expect(Number.isNaN(bad), `${kind}: Σ p² after a NaN gradient is ${bad}`).toBe(true);
    }
    await be.destroy();
  });

  it('SGD in place equals the reference; a read copy is not aliased by later updates', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const p0 = randomFloats(n, 4);
    const p = be.upload(p0, shape);
    let want = p0;
    const seen: Float32Array[] = [];
    for (let step = 0; step < 2; step++) {
      const g = randomFloats(n, 20 + step);
      be.sgdUpdate(p, be.upload(g, shape), sgd);
      want = await referenceSgdStep(want, g, sgd);
      seen.push((await be.read(p)) as Float32Array);
    }
    expect(seen[0]).not.toEqual(seen[1]);
    expectClose('p', seen[1], want, { abs: 0 });
    await be.destroy();
  });
});
