import { family, wgsl } from '../kernel.js';

export const swiglu = family('swiglu', wgsl(import.meta.url, './swiglu.wgsl'), [['n', 'u32']], {
  forward: { bindings: { gate: 1, up: 2, out: 3 } },
  backward: { bindings: { gate: 1, up: 2, out: 3, d_out: 4, d_up: 5 } },
});
