import type { RopeOptions } from '../backend/tensor-ops.js';
import type { Floats, Ints } from './storage.js';

/**
 * Rotary position embedding. Pair i of a head (i < D/2) rotates by angle pos · theta^(−2i/D).
 * Style `half` (Hugging Face): the pair is (x[i], x[i + D/2]); style `interleaved` (llama2.c,
 * Meta): the pair is (x[2i], x[2i + 1]). x [N, heads·D], positions [N].
 * `direction` −1 rotates backwards: the backward of a rotation is its inverse.
 */
function rotate(out: Floats, x: Floats, positions: Ints, o: RopeOptions, direction: 1 | -1): void {
  const D = o.headDim;
  const half = D / 2;
  const rowWidth = o.heads * D;
  const N = x.length / rowWidth;
  for (let n = 0; n < N; n++) {
    const pos = positions[n];
    for (let i = 0; i < half; i++) {
      const angle = pos * o.theta ** ((-2 * i) / D);
      const cos = Math.cos(angle);
      const sin = direction * Math.sin(angle);
      for (let h = 0; h < o.heads; h++) {
        const base = n * rowWidth + h * D;
        const i0 = o.style === 'half' ? base + i : base + 2 * i;
        const i1 = o.style === 'half' ? base + i + half : base + 2 * i + 1;
        const x0 = x[i0];
        const x1 = x[i1];
        out[i0] = x0 * cos - x1 * sin;
        out[i1] = x0 * sin + x1 * cos;
      }
    }
  }
}

export function ropeForward(out: Floats, x: Floats, positions: Ints, o: RopeOptions): void {
  rotate(out, x, positions, o, 1);
}

export function ropeBackward(dInput: Floats, dOut: Floats, positions: Ints, o: RopeOptions): void {
  rotate(dInput, dOut, positions, o, -1);
}
