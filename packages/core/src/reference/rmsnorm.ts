import type { Floats } from './storage.js';

/** out [N, C] = x · rstd · weight, rstd [N] = 1 / sqrt(mean(x²) + eps) */
export function rmsnormForward(
  out: Floats,
  rstd: Floats,
  x: Floats,
  weight: Floats,
  eps: number,
): void {
  const C = weight.length;
  const N = x.length / C;
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] * r * weight[c];
  }
}

/**
 * dInput [N, C] (overwritten), dWeight [C] (overwritten). With x̂ = x · rstd and g = dOut · weight:
 * dInput = rstd · (g − x̂ · mean(g · x̂)), dWeight = Σₙ dOut · x̂.
 */
export function rmsnormBackward(
  dInput: Floats,
  dWeight: Floats,
  x: Floats,
  weight: Floats,
  rstd: Floats,
  dOut: Floats,
): void {
  const C = weight.length;
  const N = x.length / C;
  dWeight.fill(0);
  for (let n = 0; n < N; n++) {
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      dot += dOut[i] * weight[c] * x[i] * r;
      dWeight[c] += dOut[i] * x[i] * r;
    }
    const meanDot = dot / C;
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      dInput[i] = r * (dOut[i] * weight[c] - x[i] * r * meanDot);
    }
  }
}
