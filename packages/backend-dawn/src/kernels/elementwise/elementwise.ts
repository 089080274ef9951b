import { family, wgsl } from '../kernel.js';

const source = wgsl(import.meta.url, './elementwise.wgsl');
const params = [
  ['n', 'u32'],
  ['c', 'u32'],
  ['s', 'f32'],
] as const;

export const elementwise = family('elementwise', source, params, {
  add: { bindings: { a: 1, b: 2, out: 3 } },
  scale: { bindings: { a: 1, out: 3 } },
  add_bias: { bindings: { a: 1, b: 2, out: 3 } },
});
