import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import type { AttentionOptions, Tensor } from '@oneshot-em/core';
import { describe, it } from 'vitest';
import {
  expectFiniteDifferences,
  expectTensorClose,
  readF,
  useDawn,
} from '../../testing/harness.js';

/**
 * Causal GQA attention with a key mask (left padding), a fully masked row, and decode-style
 * queryOffset; S = 70 > WG so the online softmax crosses chunks.
 */
describe('attention forward/backward vs the CPU reference and finite differences', () => {
  const h = useDawn();
  const B = 2;
  const heads = 4;
  const kvHeads = 2;
  const headDim = 6;

  function masks(S: number): Int32Array {
    // batch 0: no padding; batch 1: 3 left-padding positions
    return Int32Array.from({ length: B * S }, (_, i) => (i >= S && i - S < 3 ? 0 : 1));
  }

  const cases = [
    { name: 'training (T = S = 70, queryOffset 0)', T: 70, S: 70, queryOffset: 0 },
    { name: 'decode (T = 2, S = 9, queryOffset 7)', T: 2, S: 9, queryOffset: 7 },
  ];
  for (const c of cases) {
    it(`forward: ${c.name}`, async (ctx) => {
      const d = h.dawn(ctx);
      const o: AttentionOptions = { heads, kvHeads, headDim, queryOffset: c.queryOffset };
      const q = randomFloats(B * c.T * heads * headDim, 81, 2);
      const k = randomFloats(B * c.S * kvHeads * headDim, 82, 2);
      const v = randomFloats(B * c.S * kvHeads * headDim, 83);
      const mask = masks(c.S);
      const qs = [B * c.T, heads * headDim];
      const ks = [B * c.S, kvHeads * headDim];
      const got = d.attentionForward(
        d.upload(q, qs),
        d.upload(k, ks),
        d.upload(v, ks),
        d.upload(mask, [B, c.S]),
        o,
      );
      const want = h.ref.attentionForward(
        h.ref.upload(q, qs),
        h.ref.upload(k, ks),
        h.ref.upload(v, ks),
        h.ref.upload(mask, [B, c.S]),
        o,
      );
      await expectTensorClose(h, d, 'attention out', got.out, want.out, {
        abs: 2e-5,
        rel: 1e-4,
      });
      await expectTensorClose(h, d, 'attention lse', got.lse, want.lse, {
        abs: 2e-5,
        rel: 1e-5,
      });
    });
  }

  // Real head dims exceed the workgroup size (64): each thread then owns several output dims.
  for (const D of [64, 130]) {
    it(`forward and backward with headDim ${D} (several dims per thread)`, async (ctx) => {
      const d = h.dawn(ctx);
      const [T, S] = [9, 9];
      const o: AttentionOptions = { heads: 2, kvHeads: 1, headDim: D, queryOffset: 0 };
      const qs = [B * T, 2 * D];
      const ks = [B * S, D];
      const q = randomFloats(B * T * 2 * D, 90, 0.3);
      const k = randomFloats(B * S * D, 91, 0.3);
      const v = randomFloats(B * S * D, 92);
      const dOut = randomFloats(B * T * 2 * D, 93);
      const mask = masks(S);
      const dm = d.upload(mask, [B, S]);
      const dt = [d.upload(q, qs), d.upload(k, ks), d.upload(v, ks)];
      const fw = d.attentionForward(dt[0], dt[1], dt[2], dm, o);
      const bw = d.attentionBackward(
        dt[0],
        dt[1],
        dt[2],
        dm,
        fw.out,
        fw.lse,
        d.upload(dOut, qs),
        o,
      );
      const rm = h.ref.upload(mask, [B, S]);
      const rt = [h.ref.upload(q, qs), h.ref.upload(k, ks), h.ref.upload(v, ks)];
      const rf = h.ref.attentionForward(rt[0], rt[1], rt[2], rm, o);
      const rb = h.ref.attentionBackward(
        rt[0],
        rt[1],
        rt[2],
        rm,
        rf.out,
        rf.lse,
        h.ref.upload(dOut, qs),
        o,
      );
      const tol = { abs: 2e-5, rel: 1e-4 };
      expectClose(`out D=${D}`, await readF(d, fw.out), await readF(h.ref, rf.out), tol);
      expectClose(`lse D=${D}`, await readF(d, fw.lse), await readF(h.ref, rf.lse), tol);
      expectClose(`dq D=${D}`, await readF(d, bw.dq), await readF(h.ref, rb.dq), tol);
      expectClose(`dk D=${D}`, await readF(d, bw.dk), await readF(h.ref, rb.dk), tol);
      expectClose(`dv D=${D}`, await readF(d, bw.dv), await readF(h.ref, rb.dv), tol);
    });
  }

  it('a query row with no visible key gives zeros and lse = -Infinity', async (ctx) => {
    const d = h.dawn(ctx);
    const o: AttentionOptions = { heads: 1, kvHeads: 1, headDim: 4, queryOffset: 0 };
    const q = randomFloats(3 * 4, 84);
    const kv = randomFloats(3 * 4, 85);
    const mask = Int32Array.from([0, 1, 1]); // query 0 sees only key 0, which is padding
    const got = d.attentionForward(
      d.upload(q, [3, 4]),
      d.upload(kv, [3, 4]),
      d.upload(kv, [3, 4]),
      d.upload(mask, [1, 3]),
      o,
    );
    const lse = await readF(d, got.lse);
    const out = await readF(d, got.out);
    expectClose(
      'masked row',
      [lse[0], ...out.subarray(0, 4)],
      [Number.NEGATIVE_INFINITY, 0, 0, 0, 0],
      { abs: 0 },
    );
  });

  it('backward: dq, dk, dv vs the reference and finite differences', async (ctx) => {
    const d = h.dawn(ctx);
    const [T, S] = [67, 67];
    const o: AttentionOptions = { heads, kvHeads, headDim, queryOffset: 0 };
    const qs = [B * T, heads * headDim];
    const ks = [B * S, kvHeads * headDim];
    const q = randomFloats(B * T * heads * headDim, 86);
    const k = randomFloats(B * S * kvHeads * headDim, 87);
    const v = randomFloats(B * S * kvHeads * headDim, 88);
    const dOut = randomFloats(B * T * heads * headDim, 89);
    const mask = masks(S);
    const dm = d.upload(mask, [B, S]);
    const [dq_, dk_, dv_] = [d.upload(q, qs), d.upload(k, ks), d.upload(v, ks)];
    const fw = d.attentionForward(dq_, dk_, dv_, dm, o);
    const got = d.attentionBackward(dq_, dk_, dv_, dm, fw.out, fw.lse, d.upload(dOut, qs), o);
    const rm = h.ref.upload(mask, [B, S]);
    const [rq, rk, rv] = [h.ref.upload(q, qs), h.ref.upload(k, ks), h.ref.upload(v, ks)];
    const rf = h.ref.attentionForward(rq, rk, rv, rm, o);
    const want = h.ref.attentionBackward(rq, rk, rv, rm, rf.out, rf.lse, h.ref.upload(dOut, qs), o);
    const got3 = {
      dq: await readF(d, got.dq),
      dk: await readF(d, got.dk),
      dv: await readF(d, got.dv),
    };
    expectClose('dq', got3.dq, await readF(h.ref, want.dq), { abs: 2e-5, rel: 1e-4 });
    expectClose('dk', got3.dk, await readF(h.ref, want.dk), { abs: 2e-5, rel: 1e-4 });
    expectClose('dv', got3.dv, await readF(h.ref, want.dv), { abs: 2e-5, rel: 1e-4 });

    const [eq, ek, ev] = [
      h.ref.uploadExact(Float64Array.from(q), qs),
      h.ref.uploadExact(Float64Array.from(k), ks),
      h.ref.uploadExact(Float64Array.from(v), ks),
    ];
    const outOf = (qq: Tensor, kk: Tensor, vv: Tensor) =>
      h.ref.attentionForward(qq, kk, vv, rm, o).out;
    const tol = { abs: 1e-4, rel: 1e-3 };
    const check = { shape: qs, weights: dOut };
    expectFiniteDifferences(
      h.ref,
      'dq',
      { ...check, grad: got3.dq, x: q, forward: (x) => outOf(x, ek, ev) },
      tol,
    );
    expectFiniteDifferences(
      h.ref,
      'dk',
      { ...check, grad: got3.dk, x: k, shape: ks, forward: (x) => outOf(eq, x, ev) },
      tol,
    );
    expectFiniteDifferences(
      h.ref,
      'dv',
      { ...check, grad: got3.dv, x: v, shape: ks, forward: (x) => outOf(eq, ek, x) },
      tol,
    );
  });
});
