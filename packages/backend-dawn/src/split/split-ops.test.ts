import { expectClose, randomFloats, randomInts, testAdamwParams } from '@oneshot-em/core/testing';
/**
 * Tensors above the binding limit, split into row segments (runtime/segments.ts): every op
 * that meets them, on a backend capped at 64 KiB, against the same op on an uncapped backend.
 * Bit-identical where the split keeps the summation order (row-local ops, matmuls whose K is
 * not cut); where K is cut (dX, dW of the head; sumSquares) within a stated f32 tolerance.
 */
import type { Tensor, TensorOps } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { DawnTensor } from '../runtime/tensor.js';
import { readF, useDawn } from '../testing/harness.js';

const CAP = 64 * 1024;
// [V, C] = 160 KB: 3 segments of 408 rows (multiples of 8 rows keep 256-byte boundaries)
const V = 1000;
const C = 40;
const N = 37; // tokens: logits [37, 1000] = 148 KB, 16-row segments
const K_SPLIT_TOL = { abs: 1e-5, rel: 1e-5 }; // a cut in K reorders an f32 sum of ≤ 1000 terms

describe('split tensors (maxBindingBytes 64 KiB) vs unsplit', () => {
  const hs = useDawn({ maxBindingBytes: CAP });
  const hw = useDawn();
  const table = randomFloats(V * C, 1);
  const ids = Int32Array.from([...randomInts(N - 3, 2, V), 0, V - 1, -1]); // edges and one outside
  const h = randomFloats(N * C, 3);
  const targets = randomInts(N, 4, V);

  async function both(
    ctx: Parameters<typeof hs.dawn>[0],
    f: (ops: TensorOps) => Tensor,
  ): Promise<[Float32Array | Int32Array, Float32Array | Int32Array]> {
    const s = hs.dawn(ctx);
    const w = hw.dawn(ctx);
    return [await s.read(f(s)), await w.read(f(w))];
  }
  const same = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) =>
    expectClose(what, got, want, { abs: 0 });

  it('splits big tensors (and only those) into 256-byte-aligned row segments', (ctx) => {
    const s = hs.dawn(ctx);
    expect(s.bindingLimit).toBe(CAP);
    const t = s.upload(table, [V, C]);
    const segs = DawnTensor.segments(t);
    expect(segs.map((x) => x.rows)).toEqual([408, 408, 184]);
    expect(DawnTensor.isSplit(s.upload(h, [N, C]))).toBe(false);
    expect(() => s.rmsnormForward(t, s.upload(new Float32Array(C), [C]), 1e-5)).toThrow(
      /split into 3 row segments/,
    );
  });

  it('upload, read, zeros, sliceRows across segment edges, concatRows', async (ctx) => {
    const [r] = await both(ctx, (ops) => ops.upload(table, [V, C]));
    same(r, table, 'round trip');
    const [z] = await both(ctx, (ops) => ops.zeros([V, C]));
    expect(z.every((x) => x === 0)).toBe(true);
    const [a, b] = await both(ctx, (ops) => ops.sliceRows(ops.upload(table, [V, C]), 400, 420));
    same(a, table.subarray(400 * C, 820 * C), 'sliceRows over two edges');
    same(a, b, 'sliceRows split vs unsplit');
    const [c] = await both(ctx, (ops) => {
      const t = ops.upload(table, [V, C]);
      return ops.concatRows([ops.sliceRows(t, 600, 400), ops.sliceRows(t, 0, 600)]);
    });
    same(c, [...table.subarray(600 * C), ...table.subarray(0, 600 * C)], 'concatRows');
  });

  it('embedding forward and backward (a split table and dTable)', async (ctx) => {
    const [f, fw] = await both(ctx, (ops) =>
      ops.embeddingForward(ops.upload(ids, [N]), ops.upload(table, [V, C])),
    );
    same(f, fw, 'embeddingForward');
    const [g, gw] = await both(ctx, (ops) =>
      ops.embeddingBackward(ops.upload(ids, [N]), ops.upload(h, [N, C]), V),
    );
    same(g, gw, 'embeddingBackward');
  });

  it('the head: logits = h·Wᵀ, vocabStats, vocabGrad, dX = dZ·W, dW = dZᵀ·h', async (ctx) => {
    const stats = ['lse', 'ez', 'zy', 'mz', 's2'] as const;
    const opts = { temperature: 0.5, stats };
    const coeffs = randomFloats(N * stats.length, 5);
    const head = (ops: TensorOps) => {
      const W = ops.upload(table, [V, C]);
      const x = ops.upload(h, [N, C]);
      const y = ops.upload(targets, [N]);
      const z = ops.matmul(x, W, { transB: true });
      const st = ops.vocabStats(z, y, opts);
      const dz = ops.vocabGrad(z, y, st, ops.upload(coeffs, [N, stats.length]), opts);
      return { W, x, y, z, st, dz };
    };
    const [z, zw] = await both(ctx, (ops) => head(ops).z);
    same(z, zw, 'logits (K not cut: same order)');
    const [st, stw] = await both(ctx, (ops) => head(ops).st);
    same(st, stw, 'vocabStats');
    const [dz, dzw] = await both(ctx, (ops) => head(ops).dz);
    same(dz, dzw, 'vocabGrad');
    // ez alone: vocabGrad computes its own lse over the split logits
    const [e, ew] = await both(ctx, (ops) => {
      const { z: zz, y } = head(ops);
      const o = { temperature: 0.7, stats: ['ez'] as const };
      return ops.vocabGrad(
        zz,
        y,
        ops.vocabStats(zz, y, o),
        ops.upload(coeffs.subarray(0, N), [N, 1]),
        o,
      );
    });
    same(e, ew, 'vocabGrad (ez: lse recomputed)');
    const [dx, dxw] = await both(ctx, (ops) => {
      const r = head(ops);
      return ops.matmul(r.dz, r.W);
    });
    expectClose('dX = dZ · W (K = V cut)', dx, dxw, K_SPLIT_TOL);
    const [dw, dww] = await both(ctx, (ops) => {
      const r = head(ops);
      return ops.matmul(r.dz, r.x, { transA: true });
    });
    expectClose('dW = dZᵀ · h (K = N cut, out split)', dw, dww, K_SPLIT_TOL);
    const [t, tw] = await both(ctx, (ops) => {
      const r = head(ops);
      return ops.matmul(r.W, r.dz, { transA: true, transB: true }); // [C, N]: both transposed
    });
    expectClose('Wᵀ · dZᵀ', t, tw, K_SPLIT_TOL);
  });

  it('add, scale, sumSquares, AdamW and SGD over a [V, C] weight and flat [V·C] state', async (ctx) => {
    const g = randomFloats(V * C, 6);
    const [a, aw] = await both(ctx, (ops) =>
      ops.add(ops.upload(table, [V, C]), ops.upload(g, [V * C])),
    );
    same(a, aw, 'add (different segment boundaries)');
    const [ac, acw] = await both(ctx, (ops) => {
      const acc = ops.upload(table, [V, C]);
      (ops as unknown as { accumulate(a: Tensor, x: Tensor): void }).accumulate(
        acc,
        ops.upload(g, [V * C]),
      );
      return acc;
    });
    same(ac, aw, 'accumulate (in place) = add');
    same(acw, aw, 'accumulate unsplit = add');
    const [sc, scw] = await both(ctx, (ops) => ops.scale(ops.upload(table, [V, C]), -0.37));
    same(sc, scw, 'scale');
    const [q, qw] = await both(ctx, (ops) => ops.sumSquares(ops.upload(table, [V, C])));
    expectClose('sumSquares (partials per segment)', q, qw, { abs: 0, rel: 1e-6 });
    const step = testAdamwParams(3);
    for (const which of ['param', 'm', 'v'] as const) {
      const [u, uw] = await both(ctx, (ops) => {
        const p = ops.upload(table, [V, C]);
        const m = ops.upload(randomFloats(V * C, 7, 0.1), [V * C]);
        const v = ops.upload(randomFloats(V * C, 8, 0.1).map(Math.abs), [V * C]);
        ops.adamwUpdate(p, ops.upload(g, [V, C]), m, v, step);
        return { param: p, m, v }[which];
      });
      same(u, uw, `adamwUpdate ${which}`);
    }
    const [sg, sgw] = await both(ctx, (ops) => {
      const p = ops.upload(table, [V, C]);
      ops.sgdUpdate(p, ops.upload(g, [V * C]), { lr: 0.1, weightDecay: 0.01, gradScale: 0.5 });
      return p;
    });
    same(sg, sgw, 'sgdUpdate');
  });

  it('dispose returns every segment', async (ctx) => {
    const s = hs.dawn(ctx);
    const live = s.liveBuffers();
    const t = s.zeros([V, C]);
    expect(s.liveBuffers()).toBe(live + 3);
    s.dispose(t);
    expect(s.liveBuffers()).toBe(live);
    await readF(s, s.upload(h, [N, C]));
  });
});

describe('split matmuls on the register-tiled kernel (matmul: tile64, M ≥ 64)', () => {
  const hs = useDawn({ maxBindingBytes: CAP, matmul: 'tile64' });
  const hw = useDawn({ matmul: 'tile64' });
  const M = 300; // x [300, 40]: 48 KB, not split; logits [300, 1000]: 16-row segments
  const x = randomFloats(M * C, 11);
  const table = randomFloats(V * C, 12);

  it('logits = x·Wᵀ (bit-identical) and dW = dZᵀ·x (K cut: tolerance)', async (ctx) => {
    const s = hs.dawn(ctx);
    const w = hw.dawn(ctx);
    const run = (ops: TensorOps) => {
      const z = ops.matmul(ops.upload(x, [M, C]), ops.upload(table, [V, C]), { transB: true });
      return { z, dw: ops.matmul(z, ops.upload(x, [M, C]), { transA: true }) };
    };
    const [a, b] = [run(s), run(w)];
    expect(DawnTensor.isSplit(a.z) && DawnTensor.isSplit(a.dw)).toBe(true);
    expectClose('tile64 logits', await s.read(a.z), await w.read(b.z), { abs: 0 });
    expectClose('tile64 dW', await s.read(a.dw), await w.read(b.dw), { abs: 1e-4, rel: 1e-5 });
  });
});
