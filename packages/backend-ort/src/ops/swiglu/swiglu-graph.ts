import type { GraphBuilder } from '../../graph/builder.js';

/** silu(gate) · up = gate · σ(gate) · up, both [N, F]. */
export function emitSwigluForward(b: GraphBuilder, gate: string, up: string): string {
  return b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
}

/** dUp = dOut · gate · σ; dGate = dOut · up · σ · (1 + gate · (1 − σ)). */
export function emitSwigluBackward(
  b: GraphBuilder,
  gate: string,
  up: string,
  dOut: string,
): string[] {
  const s = b.op('Sigmoid', [gate]);
  const dUp = b.op('Mul', [dOut, b.op('Mul', [gate, s])]);
  const oneMinusS = b.op('Sub', [b.scalarF32(1), s]);
  const dsilu = b.op('Mul', [s, b.op('Add', [b.scalarF32(1), b.op('Mul', [gate, oneMinusS])])]);
  const dGate = b.op('Mul', [b.op('Mul', [dOut, up]), dsilu]);
  return [dGate, dUp];
}
