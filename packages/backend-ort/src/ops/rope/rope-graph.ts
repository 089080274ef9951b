import type { RopeOptions } from '@oneshot-em/core';
import { type GraphBuilder, int } from '../../graph/builder.js';

/**
 * Rotary embedding of x [N, heads·D] given cos/sin tables [N, D/2] (angle pos·θ^(−2i/D)).
 * `half` (HF rotate-half) pairs x[i] with x[i + D/2]; `interleaved` (llama2.c) pairs x[2i]
 * with x[2i+1]. Each pair (a, b) → (a·cos − b·sin, b·cos + a·sin); `inverse` negates sin,
 * which is the backward (the rotation is orthogonal).
 */
export function emitRope(
  b: GraphBuilder,
  x: string,
  cos: string,
  sin: string,
  n: number,
  opts: RopeOptions,
  inverse: boolean,
): string {
  const { heads, headDim: d } = opts;
  const half = d / 2;
  const s = inverse ? b.op('Neg', [sin]) : sin;
  if (opts.style === 'half') {
    const xv = b.reshape(x, [n, heads, d]);
    const [x1, x2] = b.node('Split', [xv, b.i64([half, half])], { axis: int(2) }, 2);
    const c3 = b.reshape(cos, [n, 1, half]);
    const s3 = b.reshape(s, [n, 1, half]);
    const o1 = b.op('Sub', [b.op('Mul', [x1, c3]), b.op('Mul', [x2, s3])]);
    const o2 = b.op('Add', [b.op('Mul', [x2, c3]), b.op('Mul', [x1, s3])]);
    return b.reshape(b.op('Concat', [o1, o2], { axis: int(2) }), [n, heads * d]);
  }
  const xv = b.reshape(x, [n, heads, half, 2]);
  const [x1, x2] = b.node('Split', [xv, b.i64([1, 1])], { axis: int(3) }, 2);
  const c4 = b.reshape(cos, [n, 1, half, 1]);
  const s4 = b.reshape(s, [n, 1, half, 1]);
  const o1 = b.op('Sub', [b.op('Mul', [x1, c4]), b.op('Mul', [x2, s4])]);
  const o2 = b.op('Add', [b.op('Mul', [x2, c4]), b.op('Mul', [x1, s4])]);
  return b.reshape(b.op('Concat', [o1, o2], { axis: int(3) }), [n, heads * d]);
}

/** Inverse frequencies θ^(−2i/D), i < D/2, computed in f64 then rounded once to f32. */
export function inverseFrequencies(theta: number, headDim: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => theta ** (-(2 * i) / headDim));
}

/** Host tables for known positions: cos/sin [N, D/2] in f64, stored f32 (the precise path). */
export function ropeTables(
  positions: Int32Array,
  theta: number,
  headDim: number,
): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(theta, headDim);
  const h = inv.length;
  const cos = new Float32Array(positions.length * h);
  const sin = new Float32Array(positions.length * h);
  for (let n = 0; n < positions.length; n++) {
    for (let i = 0; i < h; i++) {
      const a = positions[n] * inv[i];
      cos[n * h + i] = Math.cos(a);
      sin[n * h + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** In-graph tables for positions only known on the device (inside the decode Loop): f32 angles. */
export function emitRopeTables(
  b: GraphBuilder,
  positions: string,
  theta: number,
  headDim: number,
): string[] {
  const inv = inverseFrequencies(theta, headDim);
  const p = b.op('Unsqueeze', [b.cast(positions, 'f32'), b.i64([1])]);
  const angle = b.op('Mul', [p, b.constant('f32', inv, [1, inv.length])]);
  return [b.op('Cos', [angle]), b.op('Sin', [angle])];
}
