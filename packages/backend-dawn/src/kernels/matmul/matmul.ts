import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './matmul.wgsl');

/** Tile side 16 (256 threads); transposes are override constants TRANS_A / TRANS_B. */
export const matmul = family(
  'matmul',
  source,
  [
    ['m', 'u32'],
    ['n', 'u32'],
    ['k', 'u32'],
  ],
  { matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16 } },
);
