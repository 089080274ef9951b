import { ceilDiv, type KernelContext } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, wgsl } from '../kernel.js';
import { computeCopyBytes } from '../weights.js';

export const convert = {
  ...family('convert', wgsl(import.meta.url, './convert.wgsl'), [['n', 'u32']], {
    to_bf16: { bindings: { src: 1, out: 2 } },
  }),
  ...family('convert-f16', wgsl(import.meta.url, './convert-f16.wgsl'), [['n', 'u32']], {
    to_f16: { bindings: { src: 1, out: 2 }, requires: 'shader-f16' },
  }),
};

/**
 * Writes the compute copy of `t` from its f32 master, segment by segment (creating it on the
 * first call): after an upload and after every optimizer update of a weight.
 */
export function refreshComputeCopy(ctx: KernelContext, t: DawnTensor): void {
  const dtype = ctx.weightDtype;
  if (dtype === 'f32') return;
  const segs = DawnTensor.segments(t, 'compute copy');
  let copy = DawnTensor.computeCopy(t);
  if (!copy) {
    copy = segs.map((s) => ctx.acquire(computeCopyBytes(s.elems)));
    DawnTensor.attachComputeCopy(t, dtype, copy);
  }
  segs.forEach((s, i) => {
    if (s.elems === 0) return;
    if (dtype === 'bf16')
      ctx.queue.dispatch(
        convert.to_bf16,
        { n: s.elems },
        { src: s.buffer, out: copy[i] },
        ceilDiv(ceilDiv(s.elems, 2), 64),
      );
    else
      ctx.queue.dispatch(
        convert.to_f16,
        { n: s.elems },
        { src: s.buffer, out: copy[i] },
        ceilDiv(s.elems, 64),
      );
  });
}
