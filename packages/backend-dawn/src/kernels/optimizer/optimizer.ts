import { family, wgsl } from '../kernel.js';

export const optimizer = family(
  'optimizer',
  wgsl(import.meta.url, './optimizer.wgsl'),
  [
    ['n', 'u32'],
    ['lr', 'f32'],
    ['beta1', 'f32'],
    ['beta2', 'f32'],
    ['eps', 'f32'],
    ['weight_decay', 'f32'],
    ['step_size', 'f32'],
    ['sqrt_bc2', 'f32'],
    ['grad_scale', 'f32'],
  ],
  {
    adamw: { bindings: { param: 1, grad: 2, m: 3, v: 4 } },
    sgd: { bindings: { param: 1, grad: 2 } },
  },
);
