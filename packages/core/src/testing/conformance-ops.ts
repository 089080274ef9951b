/**
 * The primitive cases of the conformance suite: inputs on odd shapes (no multiples of 8, 16
 * or 64), a forward made of `TensorOps` calls whose outputs are compared with the reference,
 * and — for differentiable ops — a backward that, given dOut for the first output, returns
 * the gradients of the `wrt` inputs (checked against finite differences).
 */
import type { SamplingParams, Tensor, TensorOps } from '../backend/tensor-ops.js';
import { type HostTensor, intTensor, randomTensor } from './conformance-compare.js';
import { testAdamwParams } from './optimizer.js';

export interface OpCase {
  name: string;
  inputs: Record<string, HostTensor>;
  forward(ops: TensorOps, x: Record<string, Tensor>): Tensor[];
  /** integer outputs compare exactly */
  exact?: boolean;
  wrt?: string[];
  backward?(ops: TensorOps, x: Record<string, Tensor>, outputs: Tensor[], dOut: Tensor): Tensor[];
}

const rope = (style: 'half' | 'interleaved') => ({ heads: 3, headDim: 6, theta: 10000, style });
/** left padding on sequence 1: its first two keys are pads */
const keyMask = (S: number, pad: number) =>
  intTensor([...Array(S).fill(1), ...Array(pad).fill(0), ...Array(S - pad).fill(1)], [2, S]);

function attentionCase(
  name: string,
  T: number,
  S: number,
  queryOffset: number,
  seed: number,
): OpCase {
  const opts = { heads: 4, kvHeads: 2, headDim: 6, queryOffset };
  return {
    name,
    inputs: {
      q: randomTensor([2 * T, 24], seed),
      k: randomTensor([2, S, 12], seed + 1),
      v: randomTensor([2, S, 12], seed + 2),
      keyMask: keyMask(S, 2),
    },
    forward: (ops, x) => {
      const { out, lse } = ops.attentionForward(x.q, x.k, x.v, x.keyMask, opts);
      return [out, lse];
    },
    wrt: ['q', 'k', 'v'],
    backward: (ops, x, [out, lse], dOut) => {
      const { dq, dk, dv } = ops.attentionBackward(x.q, x.k, x.v, x.keyMask, out, lse, dOut, opts);
      return [dq, dk, dv];
    },
  };
}

const samplingCases: Array<[string, SamplingParams]> = [
  ['greedy with repetition penalty', { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1.3 }],
  [
    'T 0.5, top-p 0.95, penalty 1.15',
    { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
  ],
  ['T 1, top-k 5', { temperature: 1, topP: 1, topK: 5, repetitionPenalty: 1 }],
  ['T 0.8, top-p 0.5, top-k 3', { temperature: 0.8, topP: 0.5, topK: 3, repetitionPenalty: 1.5 }],
  ['T 1, min-p 0.2', { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, minP: 0.2 }],
];

const statsOpts = { temperature: 0.7, stats: ['lse', 'ez', 'zy', 'mz', 's2'] as const };
const adamw = testAdamwParams(3);

export function opCases(): OpCase[] {
  return [
    {
      name: 'embedding',
      inputs: { ids: intTensor([3, 0, 12, 3, 7, 5, 3], [7]), table: randomTensor([13, 5], 10) },
      forward: (ops, x) => [ops.embeddingForward(x.ids, x.table)],
      wrt: ['table'],
      backward: (ops, x, _o, dOut) => [ops.embeddingBackward(x.ids, dOut, 13)],
    },
    {
      name: 'linear: matmul(x, W, transB) and its backward',
      inputs: { x: randomTensor([5, 7], 20), w: randomTensor([3, 7], 21) },
      forward: (ops, x) => [ops.matmul(x.x, x.w, { transB: true })],
      wrt: ['x', 'w'],
      backward: (ops, x, _o, dOut) => [
        ops.matmul(dOut, x.w),
        ops.matmul(dOut, x.x, { transA: true }),
      ],
    },
    {
      name: 'matmul, all transpositions',
      inputs: {
        a: randomTensor([5, 7], 22),
        at: randomTensor([7, 5], 23),
        b: randomTensor([7, 3], 24),
        bt: randomTensor([3, 7], 25),
      },
      forward: (ops, x) => [
        ops.matmul(x.a, x.b),
        ops.matmul(x.at, x.b, { transA: true }),
        ops.matmul(x.a, x.bt, { transB: true }),
        ops.matmul(x.at, x.bt, { transA: true, transB: true }),
      ],
    },
    {
      name: 'add, scale, addBias, sumRows, sumSquares',
      inputs: {
        a: randomTensor([5, 7], 30),
        b: randomTensor([5, 7], 31),
        bias: randomTensor([7], 32),
      },
      forward: (ops, x) => [
        ops.add(x.a, x.b),
        ops.scale(x.a, -0.37),
        ops.addBias(x.a, x.bias),
        ops.sumRows(x.a),
        ops.sumSquares(x.a),
      ],
    },
    {
      name: 'addBias backward (sumRows)',
      inputs: { x: randomTensor([5, 7], 33), bias: randomTensor([7], 34) },
      forward: (ops, x) => [ops.addBias(x.x, x.bias)],
      wrt: ['x', 'bias'],
      backward: (ops, _x, _o, dOut) => [ops.scale(dOut, 1), ops.sumRows(dOut)],
    },
    {
      name: 'sliceRows, concatRows',
      inputs: {
        a: randomTensor([5, 3], 35),
        b: randomTensor([2, 3], 36),
        ids: intTensor([4, 1, 2, 9, 8], [5]),
      },
      forward: (ops, x) => [
        ops.sliceRows(x.a, 1, 3),
        ops.concatRows([x.a, x.b, ops.sliceRows(x.a, 4, 1)]),
        ops.sliceRows(ops.concatRows([x.ids, ops.sliceRows(x.ids, 0, 2)]), 3, 4),
      ],
    },
    {
      name: 'rmsnorm',
      inputs: { x: randomTensor([5, 11], 40), weight: randomTensor([11], 41) },
      forward: (ops, x) => {
        const { out, rstd } = ops.rmsnormForward(x.x, x.weight, 1e-5);
        return [out, rstd];
      },
      wrt: ['x', 'weight'],
      backward: (ops, x, [, rstd], dOut) => {
        const { dInput, dWeight } = ops.rmsnormBackward(x.x, x.weight, rstd, dOut);
        return [dInput, dWeight];
      },
    },
    ...(['half', 'interleaved'] as const).map(
      (style): OpCase => ({
        name: `rope (${style})`,
        inputs: { x: randomTensor([5, 18], 50), positions: intTensor([0, 1, 7, 0, 300], [5]) },
        forward: (ops, x) => [ops.ropeForward(x.x, x.positions, rope(style))],
        wrt: ['x'],
        backward: (ops, x, _o, dOut) => [ops.ropeBackward(dOut, x.positions, rope(style))],
      }),
    ),
    // Far positions hold the same tolerance: angles up to ~2e9 rad (pair 0 of D = 6 turns by
    // pos radians), where an f32 angle or a GPU's f32 sin/cos would be off by far more.
    ...(['half', 'interleaved'] as const).map(
      (style): OpCase => ({
        name: `rope (${style}, positions ≥ 4000)`,
        inputs: {
          x: randomTensor([5, 18], 51),
          positions: intTensor([4000, 4097, 32773, 1_048_583, 2_147_483_001], [5]),
        },
        forward: (ops, x) => [ops.ropeForward(x.x, x.positions, rope(style))],
        wrt: ['x'],
        backward: (ops, x, _o, dOut) => [ops.ropeBackward(dOut, x.positions, rope(style))],
      }),
    ),
    attentionCase('attention (GQA 4/2, left padding, T = S = 5)', 5, 5, 0, 60),
    attentionCase('attention (decode: T 2 after 5 cached, S 7)', 2, 7, 5, 70),
    {
      name: 'kvCacheWrite, kvCachePrefix',
      inputs: { cache: randomTensor([2, 7, 3], 80), rows: randomTensor([2, 2, 3], 81) },
      forward: (ops, x) => {
        ops.kvCacheWrite(x.cache, x.rows, 3);
        return [ops.kvCachePrefix(x.cache, 5), x.cache];
      },
    },
    {
      name: 'swiglu',
      inputs: { gate: randomTensor([5, 13], 90, 2), up: randomTensor([5, 13], 91) },
      forward: (ops, x) => [ops.swigluForward(x.gate, x.up)],
      wrt: ['gate', 'up'],
      backward: (ops, x, _o, dOut) => {
        const { dGate, dUp } = ops.swigluBackward(x.gate, x.up, dOut);
        return [dGate, dUp];
      },
    },
    {
      name: 'vocabStats / vocabGrad (lse, ez, zy, mz, s2 at T 0.7)',
      inputs: { logits: randomTensor([5, 37], 100, 3), targets: intTensor([0, 36, 5, 17, 5], [5]) },
      forward: (ops, x) => [ops.vocabStats(x.logits, x.targets, statsOpts)],
      wrt: ['logits'],
      backward: (ops, x, [stats], dOut) => [
        ops.vocabGrad(x.logits, x.targets, stats, dOut, statsOpts),
      ],
    },
    ...samplingCases.map(
      ([name, params]): OpCase => ({
        name: `sample: ${name}`,
        inputs: {
          logits: randomTensor([4, 37], 110, 3),
          presence: intTensor(
            Array.from({ length: 4 * 37 }, (_, i) => (i % 5 === 0 ? 1 : 0)),
            [4, 37],
          ),
          uniforms: { data: Float64Array.from([0.02, 0.5, 0.73, 0.999], Math.fround), shape: [4] },
        },
        exact: true,
        forward: (ops, x) => [ops.sample(x.logits, x.presence, x.uniforms, params)],
      }),
    ),
    {
      name: 'markPresent',
      inputs: { presence: intTensor(Array(3 * 7).fill(0), [3, 7]), ids: intTensor([6, 0, 6], [3]) },
      exact: true,
      forward: (ops, x) => {
        ops.markPresent(x.presence, x.ids);
        return [x.presence];
      },
    },
    {
      name: 'adamwUpdate (torch.optim.AdamW, step 3)',
      inputs: {
        p: randomTensor([5, 7], 120),
        g: randomTensor([5, 7], 121),
        m: randomTensor([5, 7], 122, 0.1),
        v: {
          data: randomTensor([5, 7], 123, 0.1).data.map((x) => Math.fround(x * x)),
          shape: [5, 7],
        },
      },
      forward: (ops, x) => {
        ops.adamwUpdate(x.p, x.g, x.m, x.v, adamw);
        return [x.p, x.m, x.v];
      },
    },
    {
      name: 'sgdUpdate',
      inputs: { p: randomTensor([5, 7], 130), g: randomTensor([5, 7], 131) },
      forward: (ops, x) => {
        ops.sgdUpdate(x.p, x.g, { lr: 0.1, weightDecay: 0.01, gradScale: 0.5 });
        return [x.p];
      },
    },
  ];
}
