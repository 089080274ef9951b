import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './rope.wgsl');

export const rope = family(
  'rope',
  source,
  [
    ['n', 'u32'],
    ['heads', 'u32'],
    ['d', 'u32'],
    ['style', 'u32'],
    ['direction', 'f32'],
    ['table_rows', 'u32'],
    ['theta', 'f32'],
  ],
  { rope: { bindings: { x: 1, positions: 2, table: 3, out: 4 } } },
);

/** Rows of the cos/sin table; positions past it fall back to f32 angles on the GPU. */
export const ROPE_TABLE_ROWS = 8192;

/** cos/sin of pos · theta^(−2i/D) in f64, stored [P, D/2, 2] as f32. */
export function ropeTable(theta: number, headDim: number, rows = ROPE_TABLE_ROWS): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(rows * half * 2);
  for (let i = 0; i < half; i++) {
    const invFreq = theta ** ((-2 * i) / headDim);
    for (let pos = 0; pos < rows; pos++) {
      const angle = pos * invFreq;
      out[(pos * half + i) * 2] = Math.cos(angle);
      out[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}
