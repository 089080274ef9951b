import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './rmsnorm.wgsl');

export const rmsnorm = family(
  'rmsnorm',
  source,
  [
    ['n', 'u32'],
    ['c', 'u32'],
    ['eps', 'f32'],
  ],
  {
    forward: { bindings: { x: 1, w: 2, out: 3, rstd_out: 4 } },
    backward_input: { bindings: { x: 1, w: 2, out: 3, rstd: 5, d_out: 6 } },
    backward_weight: { bindings: { x: 1, out: 3, rstd: 5, d_out: 6 } },
  },
);
