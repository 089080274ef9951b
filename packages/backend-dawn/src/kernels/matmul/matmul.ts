import { family, wgsl } from '../kernel.js';

const params = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
] as const;

/** 16×16 tiles, one output per thread (the default); transposes are override constants. */
export const matmul = family('matmul', wgsl(import.meta.url, './matmul.wgsl'), params, {
  matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16 },
});

/** 64×64 tiles, 4×4 outputs per thread in registers (`matmul: 'tile64'`). */
export const matmulTile64 = family(
  'matmul-tile64',
  wgsl(import.meta.url, './matmul-tile64.wgsl'),
  params,
  {
    matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16 },
  },
);

/** Output rows and columns per workgroup of each variant. */
export const MATMUL_TILE = { tile16: 16, tile64: 64 } as const;
export type MatmulVariant = keyof typeof MATMUL_TILE;
