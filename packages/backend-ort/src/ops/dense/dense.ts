import { numel, type Tensor } from '@oneshot-em/core';
import { type HostImpl, OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { asWeight } from '../convert/convert.js';
import { scatterEmbeddingGrad } from '../embedding/embedding.js';
import { emitMatmul, emitScale, emitSumRows, emitSumSquares } from './dense-graph.js';

/** op(a) [M, K] · op(w) [K, N]; w through its compute copy when it has one (ops/convert). */
export function matmul(
  ctx: Tracer,
  a: Tensor,
  w: Tensor,
  opts: { transA?: boolean; transB?: boolean } = {},
): OrtTensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [Kb, N] = transB ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
  if (a.shape.length !== 2 || w.shape.length !== 2 || K !== Kb) {
    throw new Error(
      `matmul: op(a) of [${a.shape}] (transA ${transA}) and op(b) of [${w.shape}] (transB ${transB}) do not chain`,
    );
  }
  const [out] = ctx.values(
    [OrtTensor.valueOf(a), asWeight(ctx, OrtTensor.valueOf(w))],
    [{ shape: [M, N], dtype: 'f32' }],
    (b, [x, y]) => [emitMatmul(b, x.name, y.name, transA, transB)],
  );
  return ctx.handle(out);
}

export function add(ctx: Tracer, a: Tensor, c: Tensor): OrtTensor {
  if (numel(a.shape) !== numel(c.shape))
    throw new Error(`add: shapes [${a.shape}] and [${c.shape}] differ`);
  const scattered = scatterEmbeddingGrad(ctx, a, c) ?? scatterEmbeddingGrad(ctx, c, a);
  if (scattered) return scattered;
  return ctx.trace1(
    [a, c],
    a.shape,
    (b, [x, y]) => [b.op('Add', [x.name, b.reshape(y.name, a.shape)])],
    a.dtype,
    hostAdd,
  );
}

/** acc += x on the host, in place (a host op: Executor.flush copies acc if anything else reads it). */
export function accumulate(ctx: Tracer, acc: Tensor, x: Tensor): void {
  if (numel(acc.shape) !== numel(x.shape) || acc.dtype !== 'f32' || x.dtype !== 'f32')
    throw new Error(
      `accumulate: acc [${acc.shape}] ${acc.dtype} and x [${x.shape}] ${x.dtype} differ`,
    );
  const [next] = ctx.traceHost(
    [acc, x],
    [{ shape: acc.shape, dtype: 'f32' }],
    ([a, g]) => {
      for (let i = 0; i < a.length; i++) a[i] += g[i];
      return [a];
    },
    [0],
  );
  ctx.repoint(acc, next);
}

export function scale(ctx: Tracer, x: Tensor, s: number): OrtTensor {
  const fs = Math.fround(s); // the graph multiplies by an f32 scalar
  return ctx.trace1(
    [x],
    x.shape,
    (b, [i]) => [emitScale(b, i.name, s)],
    x.dtype,
    ([d]) => [Float32Array.from(d, (e) => e * fs)],
  );
}

export function addBias(ctx: Tracer, x: Tensor, bias: Tensor): OrtTensor {
  if (x.shape[x.shape.length - 1] !== bias.shape[0])
    throw new Error(`addBias: x [${x.shape}] vs bias [${bias.shape}]`);
  return ctx.trace1([x, bias], x.shape, (b, [i, c]) => [b.op('Add', [i.name, c.name])]);
}

export function sumRows(ctx: Tracer, x: Tensor): OrtTensor {
  const C = x.shape[x.shape.length - 1];
  return ctx.trace1([x], [C], (b, [i]) => [emitSumRows(b, b.reshape(i.name, [-1, C]))]);
}

export function sumSquares(ctx: Tracer, x: Tensor): OrtTensor {
  // an optimizer's updated parameter: its update computed the sum already (ops/optimizer)
  const known = OrtTensor.valueOf(x).sumSquares;
  if (known) return ctx.handle(known);
  return ctx.trace1([x], [1], (b, [i]) => [emitSumSquares(b, i.name)], 'f32', hostSumSquares);
}

/** a + b on the host (f32, like the graph's Add). */
const hostAdd: HostImpl = ([a, b]) => {
  const out = a instanceof Int32Array ? new Int32Array(a.length) : new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return [out];
};

/**
 * Σ x² on the host, accumulated in f64 (the gradient norm of host-accumulated micro-batches):
 * four partial sums, so the loop is not one chain of dependent additions.
 */
const hostSumSquares: HostImpl = ([x]) => {
  // plain locals: destructuring here costs 5× in V8 (measured)
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = x.length & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < x.length; i++) s0 += x[i] * x[i];
  return [new Float32Array([s0 + s1 + s2 + s3])];
};
