import { describe, expect, it } from 'vitest';
import { testDevice } from './testing/device.js';
import { createOrtBackend } from './ort-backend.js';
import { expectClose, randomFloats } from '@oneshot-em/core/testing';

/** The tracing machinery itself: session reuse, what a run returns, host ops, transfers. */
describe('ort backend tracing', () => {
  it('the same computation on new data reuses the compiled session (weights are inputs)', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const step = async (seed: number) => {
      const w = be.upload(randomFloats(12, seed), [3, 4]);
      const x = be.upload(randomFloats(8, seed + 1), [2, 4]);
      return be.read(be.matmul(x, w, { transB: true }));
    };
    await step(1);
    const sessions = be.sessions();
    const runs = be.runs();
    const out = await step(7);
    expect(be.sessions()).toBe(sessions);
    expect(be.runs()).toBe(runs + 1);
    const w = randomFloats(12, 7);
    const x = randomFloats(8, 8);
    const want = Array.from({ length: 6 }, (_, i) => {
      const [r, c] = [Math.floor(i / 3), i % 3];
      let s = 0;
      for (let k = 0; k < 4; k++) s += x[r * 4 + k] * w[c * 4 + k];
      return s;
    });
    expectClose('x·wᵀ', out, want, { abs: 1e-6 });
    await be.destroy();
  });

  it('one read computes every live value; disposed intermediates are never returned', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const x = be.upload(new Float32Array([1, 2, 3]), [3]);
    const one = be.upload(new Float32Array([1, 1, 1]), [3]);
    const a = be.swigluForward(x, one); // silu(x): a graph op (scale of a host value is not)
    const hidden = be.scale(a, 10);
    be.dispose(hidden);
    const b = be.add(a, x);
    const c = be.sumSquares(b);
    const before = be.transfers();
    const runs = be.runs();
    const silu = [1, 2, 3].map((v) => v / (1 + Math.exp(-v)));
    const sum = silu.map((s, i) => s + i + 1);
    expectClose('Σ b²', await be.read(c), [sum.reduce((t, v) => t + v * v, 0)], { abs: 1e-5 });
    // a, b and c came back from the one run; `hidden` was disposed and never computed
    expect(be.transfers().reads - before.reads).toBe(3);
    expectClose('a', await be.read(a), silu, { abs: 1e-6 });
    expectClose('b', await be.read(b), sum, { abs: 1e-6 });
    expect(be.runs()).toBe(runs + 1);
    await be.destroy();
  });

  it('an optimizer step is a host op that waits for its gradient graph; sync runs it', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const p = be.upload(new Float32Array([1, -1]), [2]);
    const g = be.scale(be.upload(new Float32Array([0.5, 0.25]), [2]), 2);
    be.sgdUpdate(p, g, { lr: 0.1, weightDecay: 0, gradScale: 1 });
    await be.sync();
    const runs = be.runs();
    expectClose('p after SGD', await be.read(p), [0.9, -1.05], { abs: 1e-7 });
    expect(be.runs()).toBe(runs);
    await be.destroy();
  });

  it('counts uploads and reads of every run', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const t0 = be.transfers();
    const x = be.upload(new Float32Array(4), [4]);
    await be.read(be.swigluForward(x, x));
    const t1 = be.transfers();
    expect(t1.uploads - t0.uploads).toBe(1);
    expect(t1.bytesUp - t0.bytesUp).toBe(16);
    expect(t1.reads - t0.reads).toBe(1);
    expect(t1.bytesDown - t0.bytesDown).toBe(16);
    await be.destroy();
  });

  it('add, scale and sumSquares of host values run on the host: no run, no upload, the graph’s numbers', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const x = be.upload(randomFloats(1000, 3), [1000]);
    const y = be.upload(randomFloats(1000, 4), [1000]);
    const one = be.upload(new Float32Array(1000).fill(1), [1000]);
    // the same ops over graph values (swiglu(·, 1)·… keeps them symbolic): the graph's numbers
    const gx = be.swigluForward(x, one);
    const gy = be.swigluForward(y, one);
    const graph = [be.add(gx, gy), be.scale(gx, 0.3), be.sumSquares(gx)];
    const inGraph = await Promise.all(graph.map((t) => be.read(t)));
    const hx = be.upload(await be.read(gx), [1000]);
    const hy = be.upload(await be.read(gy), [1000]);
    const t0 = be.transfers();
    const runs = be.runs();
    const host = [be.add(hx, hy), be.scale(hx, 0.3), be.sumSquares(be.add(hx, be.scale(hx, 0)))];
    const onHost = await Promise.all(host.map((t) => be.read(t)));
    expect(be.runs(), 'no session run').toBe(runs);
    expect(be.transfers().bytesUp - t0.bytesUp, 'nothing fed to a graph').toBe(0);
    // add and scale round like the graph's f32 ops: bit-equal; Σx² accumulates in f64 on the host
    expect(Array.from(onHost[0])).toEqual(Array.from(inGraph[0]));
    expect(Array.from(onHost[1])).toEqual(Array.from(inGraph[1]));
    expectClose('Σ x²', onHost[2], inGraph[2], { abs: 0, rel: 1e-6 });
    await be.destroy();
  });

  it('lowers a 20 000-op chain (real backward graphs are thousands of ops deep)', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    let x = be.upload(new Float32Array([1.5]), [1]);
    for (let i = 0; i < 20000; i++) {
      const y = be.scale(x, i % 2 === 0 ? 2 : 0.5);
      be.dispose(x);
      x = y;
    }
    expect(Array.from(await be.read(x))).toEqual([1.5]);
    await be.destroy();
  });
});
