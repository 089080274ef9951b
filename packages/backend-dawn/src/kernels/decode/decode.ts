import { family, wgsl } from '../kernel.js';

export const decode = family(
  'decode',
  wgsl(import.meta.url, './decode.wgsl'),
  [
    ['b', 'u32'],
    ['step', 'u32'],
    ['pad', 'i32'],
    ['n_eos', 'u32'],
  ],
  { advance: { bindings: { next: 1, eos: 2, current: 3, positions: 4, done_at: 5, history: 6 } } },
);
