import { family, wgsl } from '../kernel.js';

const params = [
  ['b', 'u32'],
  ['t', 'u32'],
  ['s', 'u32'],
  ['h', 'u32'],
  ['k', 'u32'],
  ['d', 'u32'],
  ['q_offset', 'u32'],
  ['scale', 'f32'],
  ['kv_rows', 'u32'],
] as const;

/** The largest head dimension the kernels hold in workgroup memory. */
export const ATTENTION_MAX_HEAD_DIM = 256;

export const attention = {
  ...family('attention', wgsl(import.meta.url, './attention.wgsl'), params, {
    forward: { bindings: { q: 1, k: 2, v: 3, mask: 4, out: 5, lse: 6 } },
  }),
  ...family('attention.backward', wgsl(import.meta.url, './attention.backward.wgsl'), params, {
    delta_rows: { bindings: { out: 5, d_out: 7, delta: 8 } },
    dq_rows: { bindings: { q: 1, k: 2, v: 3, mask: 4, lse: 6, d_out: 7, dq: 9, delta_in: 12 } },
    dkv_rows: {
      bindings: { q: 1, k: 2, v: 3, mask: 4, lse: 6, d_out: 7, dk: 10, dv: 11, delta_in: 12 },
    },
  }),
};
