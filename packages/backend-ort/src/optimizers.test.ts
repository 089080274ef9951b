import { type AdamWParams, createReferenceBackend } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { createOrtBackend } from './ort-backend.js';
import { expectClose, randomFloats } from './testing/compare.js';
import { testDevice } from './testing/device.js';
import { expectAdamwClose } from '@oneshot-em/core/testing';

const hyper = (step: number): AdamWParams => ({
  lr: 1e-2,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  gradScale: 0.5,
  step,
});

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
    const ref = createReferenceBackend({ precision: 'f32' });
    const [p, m, v] = [be.upload(randomFloats(n, 1), shape), be.zeros(shape), be.zeros(shape)];
    const [rm, rv] = [ref.zeros(shape), ref.zeros(shape)];
    for (let step = 1; step <= 3; step++) {
      const g = randomFloats(n, 10 + step);
      const before = (await be.read(p)) as Float32Array;
      const rp = ref.upload(before, shape); // per step from our p: p's bound is per step
      be.adamwUpdate(p, be.upload(g, shape), m, v, hyper(step));
      ref.adamwUpdate(rp, ref.upload(g, shape), rm, rv, hyper(step));
      // m lives in a SharedArrayBuffer now, which onnxruntime-node refuses as an input.
      const mSums = await be.read(be.sumRows(m));
      const [wp, wm, wv] = (await Promise.all(
        [rp, rm, rv].map((t) => ref.read(t)),
      )) as Float32Array[];
      expectClose('sumRows(m)', mSums, columnSums(wm), 1e-4, 1e-4);
      const [gp, gm, gv] = (await Promise.all([p, m, v].map((t) => be.read(t)))) as Float32Array[];
      expectAdamwClose(`step ${step}`, { p: gp, m: gm, v: gv }, { p: wp, m: wm, v: wv }, before);
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
    expectClose(
      'sumRows(p) traced before the update',
      await be.read(before),
      columnSums(p0),
      1e-3,
      1e-4,
    );
    const mixedWant = Float32Array.from(p0, (x, i) => Math.fround(x * 2) + pNew[i]);
    expectClose('2·p_old + p_new', await be.read(mixed), mixedWant, 0);
    // and the update itself was not disturbed by the copy it had to make
    const ref = createReferenceBackend({ precision: 'f32' });
    const [rp, rm, rv] = [ref.upload(p0, shape), ref.zeros(shape), ref.zeros(shape)];
    ref.adamwUpdate(rp, ref.upload(g, shape), rm, rv, hyper(1));
    const want = (await Promise.all([rp, rm, rv].map((t) => ref.read(t)))) as Float32Array[];
    const got = (await Promise.all([m, v].map((t) => be.read(t)))) as Float32Array[];
    expectAdamwClose(
      'p',
      { p: pNew, m: got[0], v: got[1] },
      { p: want[0], m: want[1], v: want[2] },
      p0,
    );
    await be.destroy();
  });

  it('SGD in place equals the reference; a read copy is not aliased by later updates', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const ref = createReferenceBackend({ precision: 'f32' });
    const p0 = randomFloats(n, 4);
    const [p, rp] = [be.upload(p0, shape), ref.upload(p0, shape)];
    const sgd = { lr: 0.1, weightDecay: 0.01, gradScale: 0.5 };
    const seen: Float32Array[] = [];
    for (let step = 0; step < 2; step++) {
      const g = randomFloats(n, 20 + step);
      be.sgdUpdate(p, be.upload(g, shape), sgd);
      ref.sgdUpdate(rp, ref.upload(g, shape), sgd);
      seen.push((await be.read(p)) as Float32Array);
    }
    expect(seen[0]).not.toEqual(seen[1]);
    expectClose('p', seen[1], (await ref.read(rp)) as Float32Array, 0);
    await be.destroy();
  });
});
