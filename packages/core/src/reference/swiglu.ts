import type { Floats } from './storage.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** out [N, F] = silu(gate) · up */
export function swigluForward(out: Floats, gate: Floats, up: Floats): void {
  for (let i = 0; i < out.length; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dGate = dOut · up · σ(g)(1 + g(1 − σ(g))), dUp = dOut · silu(g) (both overwritten) */
export function swigluBackward(
  dGate: Floats,
  dUp: Floats,
  gate: Floats,
  up: Floats,
  dOut: Floats,
): void {
  for (let i = 0; i < dOut.length; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dGate[i] = dOut[i] * up[i] * s * (1 + g * (1 - s));
    dUp[i] = dOut[i] * g * s;
  }
}
