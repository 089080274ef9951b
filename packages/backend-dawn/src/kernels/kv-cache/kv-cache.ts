import { family, wgsl } from '../kernel.js';

export const kvCache = family(
  'kv-cache',
  wgsl(import.meta.url, './kv-cache.wgsl'),
  [
    ['b', 'u32'],
    ['rows', 'u32'],
    ['x', 'u32'],
    ['src_len', 'u32'],
    ['src_start', 'u32'],
    ['dst_len', 'u32'],
    ['dst_start', 'u32'],
  ],
  { copy_rows: { bindings: { src: 1, dst: 2 } } },
);
