import { type GraphBuilder, int, ints } from '../../graph/builder.js';

/** x [N, C], weight [C] → out [N, C], rstd [N] = 1 / sqrt(mean(x²) + eps). */
export function emitRmsnormForward(
  b: GraphBuilder,
  x: string,
  weight: string,
  eps: number,
  n: number,
): string[] {
  const ms = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: ints([1]), keepdims: int(1) });
  const rstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [ms, b.scalarF32(eps)])])]);
  const out = b.op('Mul', [b.op('Mul', [x, rstd]), weight]);
  return [out, b.reshape(rstd, [n])];
}

/**
 * With x̂ = x·rstd and g = dOut·w: dWeight = Σ_rows dOut·x̂,
 * dInput = rstd · (g − x̂ · mean(g·x̂)) (the mean over C).
 */
export function emitRmsnormBackward(
  b: GraphBuilder,
  x: string,
  weight: string,
  rstd: string,
  dOut: string,
  n: number,
): string[] {
  const r = b.reshape(rstd, [n, 1]);
  const xhat = b.op('Mul', [x, r]);
  const dWeight = b.reduceSum(b.op('Mul', [dOut, xhat]), [0], false);
  const g = b.op('Mul', [dOut, weight]);
  const c = b.op('ReduceMean', [b.op('Mul', [g, xhat])], { axes: ints([1]), keepdims: int(1) });
  const dInput = b.op('Mul', [r, b.op('Sub', [g, b.op('Mul', [xhat, c])])]);
  return [dInput, dWeight];
}
