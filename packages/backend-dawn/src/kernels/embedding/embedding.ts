import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './embedding.wgsl');

export const embedding = family(
  'embedding',
  source,
  [
    ['n', 'u32'],
    ['c', 'u32'],
    ['v', 'u32'],
  ],
  {
    gather: { bindings: { ids: 1, src: 2, out: 3 } },
    scatter_add: { bindings: { ids: 1, src: 2, out: 3 } },
  },
);
