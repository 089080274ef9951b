import type { Floats } from './storage.js';

/**
 * out [M, N] = op(a) · op(b), op(a) [M, K], op(b) [K, N]. Stored layouts: a is [M, K], or
 * [K, M] when transA; b is [K, N], or [N, K] when transB (the usual x · Wᵀ of a linear layer).
 * Accumulates each dot product in double precision.
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
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? a[k * M + i] : a[i * K + k];
        const bv = transB ? b[j * K + k] : b[k * N + j];
        sum += av * bv;
      }
      out[i * N + j] = sum;
    }
  }
}
