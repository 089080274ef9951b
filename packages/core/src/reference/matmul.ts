import type { Floats } from './storage.js';

/**
 * out [M, N] = op(a) · op(b), op(a) [M, K], op(b) [K, N]. Stored layouts: a is [M, K], or
 * [K, M] when transA; b is [K, N], or [N, K] when transB (the usual x · Wᵀ of a linear layer).
 * Each dot product accumulates in double precision.
 */
export function matmul(
  out: Floats,
  a: Floats,
  b: Floats,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
): void {
  // element strides of op(a)[i, k] and op(b)[k, j] in the stored arrays
  const [aRow, aCol] = transA ? [1, M] : [K, 1];
  const [bRow, bCol] = transB ? [1, K] : [N, 1];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a[i * aRow + k * aCol] * b[k * bRow + j * bCol];
      out[i * N + j] = sum;
    }
  }
}
