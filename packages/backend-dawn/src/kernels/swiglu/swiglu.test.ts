import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { expectFiniteDifferences, readF, useDawn } from '../../testing/harness.js';

describe('swiglu forward/backward vs the CPU reference and finite differences', () => {
  const h = useDawn();
  const [N, F] = [9, 29];
  const gate = randomFloats(N * F, 51, 4);
  const up = randomFloats(N * F, 52, 2);
  const dOut = randomFloats(N * F, 53);

  it('forward and backward', async (ctx) => {
    const d = h.dawn(ctx);
    const s = [N, F];
    const out = await readF(d, d.swigluForward(d.upload(gate, s), d.upload(up, s)));
    expectClose(
      'swiglu',
      out,
      await readF(h.ref, h.ref.swigluForward(h.ref.upload(gate, s), h.ref.upload(up, s))),
      { abs: 1e-5, rel: 1e-5 },
    );
    const g = d.swigluBackward(d.upload(gate, s), d.upload(up, s), d.upload(dOut, s));
    const dGate = await readF(d, g.dGate);
    const dUp = await readF(d, g.dUp);
    const upRef = h.ref.uploadExact(Float64Array.from(up), s);
    const gateRef = h.ref.uploadExact(Float64Array.from(gate), s);
    const tol = { abs: 1e-4, rel: 1e-4 };
    expectFiniteDifferences(
      h.ref,
      'dGate',
      {
        grad: dGate,
        x: gate,
        shape: s,
        forward: (x) => h.ref.swigluForward(x, upRef),
        weights: dOut,
      },
      tol,
    );
    expectFiniteDifferences(
      h.ref,
      'dUp',
      {
        grad: dUp,
        x: up,
        shape: s,
        forward: (x) => h.ref.swigluForward(gateRef, x),
        weights: dOut,
      },
      tol,
    );
  });
});
