import { type GraphBuilder, int } from '../../graph/builder.js';

/** op(a) [M, K] · op(b) [K, N] → [M, N] as one Gemm (transposes are Gemm attributes, no copies). */
export function emitMatmul(
  b: GraphBuilder,
  a: string,
  w: string,
  transA: boolean,
  transB: boolean,
): string {
  return b.op('Gemm', [a, w], { transA: int(transA ? 1 : 0), transB: int(transB ? 1 : 0) });
}

/** x · s */
export function emitScale(b: GraphBuilder, x: string, s: number): string {
  return b.op('Mul', [x, b.scalarF32(s)]);
}

/** x [N, C] → [C] */
export function emitSumRows(b: GraphBuilder, x: string): string {
  return b.reduceSum(x, [0], false);
}

/** Σ x² over every element → [1] */
export function emitSumSquares(b: GraphBuilder, x: string): string {
  const flat = b.reshape(x, [-1]);
  return b.op('ReduceSumSquare', [flat], { axes: { ints: [0] }, keepdims: int(1) });
}
