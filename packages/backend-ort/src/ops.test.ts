import type { Tensor, TensorOps } from '@oneshot-em/core';
import { createReferenceBackend } from '@oneshot-em/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDevice } from './testing/device.js';
import { vocabRowsPerChunk } from './ops/vocab/vocab-graph.js';
import { createOrtBackend, type OrtBackend } from './ort-backend.js';
import {
  expectClose,
  finiteDifferencesAsync,
  randomFloats,
  randomInts,
  testAdamwParams,
  weightedSum,
} from '@oneshot-em/core/testing';

/**
 * Every primitive on the ORT CPU EP against core's CPU reference (f64) on odd shapes, and the
 * attention/rmsnorm backward against central finite differences of the ORT forward.
 */
let ortB: OrtBackend;
const ref = createReferenceBackend({ precision: 'f64' });

beforeAll(async () => {
  ortB = await createOrtBackend({ device: testDevice() });
});
afterAll(async () => {
  await ortB.destroy();
});

type Build = (ops: TensorOps) => Record<string, Tensor>;

async function readAll(ops: TensorOps, outs: Record<string, Tensor>) {
  const r: Record<string, Float32Array | Int32Array> = {};
  for (const [k, t] of Object.entries(outs)) r[k] = await ops.read(t);
  return r;
}

async function matchesReference(label: string, build: Build, atol = 1e-5, rtol = 1e-5) {
  const got = await readAll(ortB, build(ortB));
  const want = await readAll(ref, build(ref));
  for (const k of Object.keys(want)) {
    expectClose(`${label}.${k}`, got[k], want[k], { abs: atol, rel: rtol });
  }
}

describe('ort ops vs the CPU reference', () => {
  it('matmul in all four transpose combinations, add, scale, addBias, sumRows, sumSquares', async () => {
    const a = randomFloats(5 * 7, 1);
    const w = randomFloats(7 * 3, 2);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        await matchesReference(`matmul(${transA},${transB})`, (ops) => ({
          c: ops.matmul(
            ops.upload(a, transA ? [7, 5] : [5, 7]),
            ops.upload(w, transB ? [3, 7] : [7, 3]),
            { transA, transB },
          ),
        }));
      }
    }
    const x = randomFloats(5 * 7, 3);
    const y = randomFloats(5 * 7, 4);
    const bias = randomFloats(7, 5);
    await matchesReference('elementwise', (ops) => {
      const X = ops.upload(x, [5, 7]);
      return {
        add: ops.add(X, ops.upload(y, [5, 7])),
        scale: ops.scale(X, -1.7),
        addBias: ops.addBias(X, ops.upload(bias, [7])),
        sumRows: ops.sumRows(X),
        sumSquares: ops.sumSquares(X),
        slice: ops.sliceRows(X, 1, 3),
        concat: ops.concatRows([ops.sliceRows(X, 3, 2), ops.sliceRows(X, 0, 1)]),
      };
    });
  });

  it('embedding forward and backward (repeated ids accumulate)', async () => {
    const table = randomFloats(11 * 6, 6);
    const ids = new Int32Array([3, 0, 10, 3, 3, 7, 1]);
    const dOut = randomFloats(7 * 6, 7);
    await matchesReference('embedding', (ops) => {
      const I = ops.upload(ids, [7]);
      return {
        fwd: ops.embeddingForward(I, ops.upload(table, [11, 6])),
        bwd: ops.embeddingBackward(I, ops.upload(dOut, [7, 6]), 11),
      };
    });
  });

  it('embedding backward added to a tensor (the tied gradient: fused into one scatter on ORT)', async () => {
    const ids = new Int32Array([3, 0, 10, 3, 3, 7, 1]);
    const dOut = randomFloats(7 * 6, 7);
    const head = randomFloats(11 * 6, 8);
    await matchesReference('embedding + x', (ops) => {
      const I = ops.upload(ids, [7]);
      const D = ops.upload(dOut, [7, 6]);
      const H = ops.swigluForward(ops.upload(head, [11, 6]), ops.upload(head, [11, 6]));
      const E = ops.embeddingBackward(I, D, 11);
      ops.dispose(D); // as modelBackward does before the add
      const sum = ops.add(E, H);
      ops.dispose(E);
      const E2 = ops.embeddingBackward(I, ops.upload(dOut, [7, 6]), 11);
      const flipped = ops.add(H, E2);
      ops.dispose(E2);
      return { sum, flipped };
    });
    // both sums scattered into H: no [V, C] zeros, no Add of two tables
    const ops = ortB.lastGraphOpTypes();
    expect(ops.filter((t) => t === 'ScatterND')).toHaveLength(2);
    expect(ops).not.toContain('ConstantOfShape');
  });

  it('rmsnorm forward and backward', async () => {
    const x = randomFloats(5 * 9, 8, 2);
    const w = randomFloats(9, 9);
    const d = randomFloats(5 * 9, 10);
    await matchesReference('rmsnorm', (ops) => {
      const X = ops.upload(x, [5, 9]);
      const W = ops.upload(w, [9]);
      const { out, rstd } = ops.rmsnormForward(X, W, 1e-5);
      const { dInput, dWeight } = ops.rmsnormBackward(X, W, rstd, ops.upload(d, [5, 9]));
      return { out, rstd, dInput, dWeight };
    });
  });

  for (const style of ['half', 'interleaved'] as const) {
    it(`rope ${style}: forward/backward with host positions and with device-computed positions`, async () => {
      const opts = { heads: 3, headDim: 6, theta: 10000, style };
      const x = randomFloats(5 * 18, 11);
      const pos = new Int32Array([0, 1, 2, 17, 300]);
      await matchesReference(`rope.${style}`, (ops) => {
        const X = ops.upload(x, [5, 18]);
        const P = ops.upload(pos, [5]);
        return { fwd: ops.ropeForward(X, P, opts), bwd: ops.ropeBackward(X, P, opts) };
      });
      // Positions computed in the graph (as inside the decode Loop): f32 angles, looser tolerance.
      await matchesReference(
        `rope.${style}.device-positions`,
        (ops) => {
          // a proper slice (all rows would be the host value itself)
          const P = ops.sliceRows(ops.upload(Int32Array.of(...pos, 0), [6]), 0, 5);
          return { fwd: ops.ropeForward(ops.upload(x, [5, 18]), P, opts) };
        },
        1e-4,
      );
    });
  }

  it('rope over the same host positions, forward and backward, q and k: one pair of tables fed', async () => {
    const be = await createOrtBackend({ device: testDevice() });
    const opts = { heads: 3, headDim: 6, theta: 10000, style: 'half' as const };
    const pos = new Int32Array([0, 1, 2, 17, 300]);
    const P = be.upload(pos, [5]);
    const [q, k] = [13, 14].map((seed) => be.upload(randomFloats(5 * 18, seed), [5, 18]));
    const outs = [
      be.ropeForward(q, P, opts),
      be.ropeForward(k, P, opts),
      be.ropeBackward(q, P, opts),
    ];
    const before = be.transfers().uploads;
    const got = await Promise.all(outs.map((t) => be.read(t)));
    // q, k and one cos/sin pair (one pair per call before: 8 feeds)
    expect(be.transfers().uploads - before).toBe(4);
    const want = await Promise.all(
      [
        ref.ropeForward(ref.upload(await be.read(q), [5, 18]), ref.upload(pos, [5]), opts),
        ref.ropeForward(ref.upload(await be.read(k), [5, 18]), ref.upload(pos, [5]), opts),
        ref.ropeBackward(ref.upload(await be.read(q), [5, 18]), ref.upload(pos, [5]), opts),
      ].map((t) => ref.read(t)),
    );
    got.forEach((g, i) => {
      expectClose(`rope ${i}`, g, want[i], { abs: 1e-5, rel: 1e-5 });
    });
    await be.destroy();
  });

  it('swiglu forward and backward', async () => {
    const g = randomFloats(4 * 5, 12, 3);
    const u = randomFloats(4 * 5, 13);
    const d = randomFloats(4 * 5, 14);
    await matchesReference('swiglu', (ops) => {
      const G = ops.upload(g, [4, 5]);
      const U = ops.upload(u, [4, 5]);
      const { dGate, dUp } = ops.swigluBackward(G, U, ops.upload(d, [4, 5]));
      return { fwd: ops.swigluForward(G, U), dGate, dUp };
    });
  });

  for (const [label, H, K, T, S, offset] of [
    ['training GQA 4/2', 4, 2, 5, 5, 0],
    ['decode MHA 2/2 with offset', 2, 2, 2, 7, 5],
    ['MQA 3/1 prefix', 3, 1, 3, 6, 3],
  ] as const) {
    it(`attention forward and backward: ${label}`, async () => {
      const B = 2;
      const D = 4;
      const opts = { heads: H, kvHeads: K, headDim: D, queryOffset: offset };
      const q = randomFloats(B * T * H * D, 20);
      const k = randomFloats(B * S * K * D, 21);
      const v = randomFloats(B * S * K * D, 22);
      const dOut = randomFloats(B * T * H * D, 23);
      const mask = new Int32Array(B * S).fill(1);
      mask[0] = 0; // batch 0: a padded first key (its first query row may see nothing)
      mask[1] = 0;
      await matchesReference(`attention.${label}`, (ops) => {
        const Q = ops.upload(q, [B * T, H * D]);
        const Kt = ops.upload(k, [B * S, K * D]);
        const V = ops.upload(v, [B * S, K * D]);
        const M = ops.upload(mask, [B, S]);
        const { out, lse } = ops.attentionForward(Q, Kt, V, M, opts);
        const { dq, dk, dv } = ops.attentionBackward(
          Q,
          Kt,
          V,
          M,
          out,
          lse,
          ops.upload(dOut, [B * T, H * D]),
          opts,
        );
        return { out, lse, dq, dk, dv };
      });
    });
  }

  it('attention backward matches finite differences of the ORT forward', async () => {
    const [B, T, H, K, D] = [1, 3, 2, 1, 4];
    const opts = { heads: H, kvHeads: K, headDim: D, queryOffset: 0 };
    const q = randomFloats(B * T * H * D, 30);
    const k = randomFloats(B * T * K * D, 31);
    const v = randomFloats(B * T * K * D, 32);
    const w = randomFloats(B * T * H * D, 33);
    const mask = new Int32Array(B * T).fill(1);
    const M = ortB.upload(mask, [B, T]);
    const loss = async (qq: Float64Array) => {
      const { out } = ortB.attentionForward(
        ortB.upload(Float32Array.from(qq), [T, H * D]),
        ortB.upload(k, [T, K * D]),
        ortB.upload(v, [T, K * D]),
        M,
        opts,
      );
      return weightedSum(w, await ortB.read(out));
    };
    const Q = ortB.upload(q, [T, H * D]);
    const Kt = ortB.upload(k, [T, K * D]);
    const V = ortB.upload(v, [T, K * D]);
    const { out, lse } = ortB.attentionForward(Q, Kt, V, M, opts);
    const { dq } = ortB.attentionBackward(Q, Kt, V, M, out, lse, ortB.upload(w, [T, H * D]), opts);
    const analytic = await ortB.read(dq);
    const numeric = await finiteDifferencesAsync(loss, Float64Array.from(q), { h: 1e-2 });
    expectClose('attention dq vs finite differences', analytic, numeric, { abs: 2e-3, rel: 1e-2 });
  });

  it('vocabStats and vocabGrad for every statistic, with a masked (−∞) entry', async () => {
    const [N, V] = [4, 13];
    const z = randomFloats(N * V, 40, 4);
    z[5] = Number.NEGATIVE_INFINITY;
    const y = randomInts(N, 41, V);
    const stats = ['lse', 'ez', 'zy', 'mz', 's2'] as const;
    const coeffs = randomFloats(N * stats.length, 42);
    for (const temperature of [1, 0.5]) {
      await matchesReference(
        `vocab T=${temperature}`,
        (ops) => {
          const Z = ops.upload(z, [N, V]);
          const Y = ops.upload(y, [N]);
          const s = ops.vocabStats(Z, Y, { temperature, stats });
          const g = ops.vocabGrad(Z, Y, s, ops.upload(coeffs, [N, stats.length]), {
            temperature,
            stats,
          });
          return { stats: s, grad: g };
        },
        1e-5,
        1e-5,
      );
    }
  });

  it('vocabGrad of each statistic alone and without lse (its own max and sum), masked entry', async () => {
    const [N, V] = [3, 11];
    const z = randomFloats(N * V, 45, 4);
    z[4] = Number.NEGATIVE_INFINITY;
    const y = new Int32Array([2, 4, 10]); // row 1's target is the masked entry's column
    const sets = [['s2'], ['zy'], ['mz'], ['ez'], ['ez', 'zy'], ['mz', 's2']] as const;
    for (const stats of sets) {
      const coeffs = randomFloats(N * stats.length, 46);
      await matchesReference(
        `vocabGrad [${stats}]`,
        (ops) => {
          const Z = ops.upload(z, [N, V]);
          const Y = ops.upload(y, [N]);
          const s = ops.vocabStats(Z, Y, { temperature: 0.7, stats });
          const c = ops.upload(coeffs, [N, stats.length]);
          return { grad: ops.vocabGrad(Z, Y, s, c, { temperature: 0.7, stats }) };
        },
        1e-5,
        1e-5,
      );
    }
  });

  it('vocabGrad in row chunks (a partial last chunk, masked entries) = the reference', async () => {
    const [N, V] = [600, 1000];
    const z = randomFloats(N * V, 47, 6);
    for (const i of [7, 3 * V + 1, 530 * V + 999]) z[i] = Number.NEGATIVE_INFINITY;
    const y = randomInts(N, 48, V);
    const stats = ['lse', 'ez', 'zy', 'mz', 's2'] as const;
    const coeffs = randomFloats(N * stats.length, 49);
    await matchesReference(
      'vocabGrad chunked',
      (ops) => {
        const Z = ops.upload(z, [N, V]);
        const Y = ops.upload(y, [N]);
        const s = ops.vocabStats(Z, Y, { temperature: 0.5, stats });
        const c = ops.upload(coeffs, [N, stats.length]);
        return { grad: ops.vocabGrad(Z, Y, s, c, { temperature: 0.5, stats }) };
      },
      1e-5,
      1e-5,
    );
  });

  it("vocabGrad with the forward's lse: one Exp per chunk, no max, sum, division or one-hot", async () => {
    const [N, V, stats] = [600, 1000, ['lse', 'ez', 'zy'] as const];
    const chunks = Math.ceil(N / vocabRowsPerChunk(N, V));
    const Z = ortB.upload(randomFloats(N * V, 50, 6), [N, V]);
    const Y = ortB.upload(randomInts(N, 51, V), [N]);
    const s = ortB.upload(await ortB.read(ortB.vocabStats(Z, Y, { temperature: 0.5, stats })), [
      N,
      stats.length,
    ]);
    const c = ortB.upload(randomFloats(N * stats.length, 52), [N, stats.length]);
    await ortB.read(ortB.vocabGrad(Z, Y, s, c, { temperature: 0.5, stats }));
    const ops = ortB.lastGraphOpTypes();
    expect(ops.filter((o) => o === 'Exp')).toHaveLength(chunks);
    expect(
      ops.filter((o) => ['ReduceMax', 'ReduceSum', 'Div', 'Equal', 'Range'].includes(o)),
    ).toEqual([]);
    for (const t of [Z, Y, s, c]) ortB.dispose(t);
  });

  it('vocabStats in row chunks (CPU EP: 2^19 logits each, a partial last chunk) = the reference', async () => {
    const [N, V] = [600, 1000];
    expect(vocabRowsPerChunk(N, V)).toBe(524);
    const z = randomFloats(N * V, 43, 6);
    for (const i of [7, 3 * V + 1, 530 * V + 999]) z[i] = Number.NEGATIVE_INFINITY;
    const y = randomInts(N, 44, V);
    const stats = ['lse', 'ez', 'zy', 'mz', 's2'] as const;
    await matchesReference(
      'vocab chunked',
      (ops) => ({
        stats: ops.vocabStats(ops.upload(z, [N, V]), ops.upload(y, [N]), {
          temperature: 0.5,
          stats,
        }),
      }),
      1e-5,
      1e-5,
    );
  });

  it('sample: greedy, and seeded top-p / repetition-penalty draws; markPresent', async () => {
    const [B, V] = [6, 17];
    const z = randomFloats(B * V, 50, 3);
    const presence = randomInts(B * V, 51, 2);
    const u = randomFloats(B, 52).map((x) => (x + 1) / 2);
    const ids = new Int32Array([0, 16, 3, 3, 9, 5]);
    for (const params of [
      { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1.15 },
      { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
      { temperature: 1, topP: 0.6, topK: 3, repetitionPenalty: 1 },
      { temperature: 2, topP: 1, topK: 0, repetitionPenalty: 2 },
    ]) {
      await matchesReference(
        `sample ${JSON.stringify(params)}`,
        (ops) => {
          const P = ops.upload(presence, [B, V]);
          const out = ops.sample(ops.upload(z, [B, V]), P, ops.upload(u, [B]), params);
          ops.markPresent(P, ops.upload(ids, [B]));
          return { ids: out, presence: P };
        },
        0,
      );
    }
  });

  it('sample with min-p (after temperature, top-p and top-k) draws as the reference', async () => {
    const [B, V] = [48, 301];
    const z = randomFloats(B * V, 53, 5);
    const presence = randomInts(B * V, 54, 2);
    const u = randomFloats(B, 55).map((x) => (x + 1) / 2);
    for (const params of [
      { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, minP: 0.1 },
      { temperature: 0.7, topP: 0.9, topK: 0, repetitionPenalty: 1.15, minP: 0.3 },
      { temperature: 0.5, topP: 1, topK: 20, repetitionPenalty: 1, minP: 0.5 },
    ]) {
      const draw = (ops: TensorOps, p: typeof params) => ({
        ids: ops.sample(ops.upload(z, [B, V]), ops.upload(presence, [B, V]), ops.upload(u, [B]), p),
      });
      await matchesReference(`sample ${JSON.stringify(params)}`, (ops) => draw(ops, params), 0);
      // the setting binds: without min-p the reference draws differ
      const [a, b] = [draw(ref, params).ids, draw(ref, { ...params, minP: 0 }).ids];
      expect([...(await ref.read(a))], JSON.stringify(params)).not.toEqual([
        ...(await ref.read(b)),
      ]);
    }
  });

  it('sliceRows of every row is the value itself: no Slice, and the head logits of one chunk are traced twice over the same inputs (one Gemm after ONNX Runtime CSE)', async () => {
    // its own backend: the shared one's live values from other tests would join the run
    const be = await createOrtBackend({ device: testDevice() });
    const x = randomFloats(4 * 3, 61);
    const X = be.upload(x, [4, 3]);
    const W = be.upload(randomFloats(5 * 3, 62), [5, 3]);
    const all = be.sliceRows(be.scale(X, 2), 0, 4);
    const [a, b] = [0, 1].map(() => be.matmul(be.sliceRows(X, 0, 4), W, { transB: true }));
    const diff = be.add(a, be.scale(b, -1));
    expect(await be.read(all)).toEqual(Float32Array.from(x, (e) => Math.fround(e * 2)));
    expect(be.lastGraphOpTypes()).not.toContain('Slice');
    expect([...(await be.read(diff))].every((e) => e === 0)).toBe(true);
    // disposing the whole-rows slice leaves its source readable
    const s = be.sliceRows(X, 0, 4);
    be.dispose(s);
    expect(await be.read(X)).toEqual(x);
    await be.destroy();
  });

  it('kvCacheWrite and kvCachePrefix', async () => {
    const [B, Smax, X] = [2, 6, 3];
    const rows = randomFloats(B * 2 * X, 60);
    await matchesReference(
      'kvcache',
      (ops) => {
        const cache = ops.zeros([B, Smax, X]);
        ops.kvCacheWrite(cache, ops.upload(rows, [B * 2, X]), 3);
        ops.kvCacheWrite(cache, ops.upload(rows.slice(0, B * X), [B, X]), 0);
        return { cache, prefix: ops.kvCachePrefix(cache, 4) };
      },
      0,
    );
  });

  it('adamwUpdate and sgdUpdate (host ops, run after the gradient graph)', async () => {
    const n = 10;
    const p0 = randomFloats(n, 70);
    const g = randomFloats(n, 71);
    const m0 = randomFloats(n, 72, 0.1);
    const v0 = randomFloats(n, 73, 0.1).map(Math.abs);
    const adam = testAdamwParams(3);
    const sgd = { lr: 0.1, weightDecay: 0.01, gradScale: 2 };
    await matchesReference(
      'optimizers',
      (ops) => {
        const P = ops.upload(p0, [n]);
        const M = ops.upload(m0, [n]);
        const Vv = ops.upload(v0, [n]);
        // the gradient is itself computed (scale) so the host op waits for a graph run
        ops.adamwUpdate(P, ops.scale(ops.upload(g, [n]), 1), M, Vv, adam);
        const P2 = ops.upload(p0, [n]);
        ops.sgdUpdate(P2, ops.scale(ops.upload(g, [n]), 1), sgd);
        ops.sgdUpdate(P2, ops.scale(P2, 0.5), sgd);
        return { p: P, m: M, v: Vv, p2: P2, after: ops.scale(P, 2) };
      },
      1e-6,
      1e-6,
    );
  });
});
