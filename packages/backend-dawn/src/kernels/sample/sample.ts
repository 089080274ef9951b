import { family, wgsl } from '../kernel.js';

export const sample = family(
  'sample',
  wgsl(import.meta.url, './sample.wgsl'),
  [
    ['b', 'u32'],
    ['v', 'u32'],
    ['temperature', 'f32'],
    ['top_p', 'f32'],
    ['top_k', 'u32'],
    ['penalty', 'f32'],
  ],
  {
    sample: {
      bindings: { logits: 1, presence: 2, uniforms: 3, ids: 4, probs: 5 },
      workgroupSize: 256,
    },
    mark_present: { bindings: { ids: 4, presence_out: 6 }, workgroupSize: 64 },
  },
);
