import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './reduce.wgsl');
const params = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['n', 'u32'],
  ['groups', 'u32'],
] as const;

export const reduce = family('reduce', source, params, {
  sum_rows: { bindings: { x: 1, out: 2 }, workgroupSize: 64 },
  sum_squares: { bindings: { x: 1, out: 2 }, workgroupSize: 256 },
  sum_partials: { bindings: { x: 1, out: 2 }, workgroupSize: 256 },
});
