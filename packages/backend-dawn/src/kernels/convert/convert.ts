import { ceilDiv, type KernelContext } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, type KernelInterface, wgsl } from '../kernel.js';
import { computeCopyBytes } from '../weights.js';

/** n elements of src (f32) rounded into out: bf16 packed 2 per u32, or f16. */
const iface = (out: 'u32' | 'f16'): KernelInterface => ({
  params: [['n', 'u32']],
  bindings: { src: [1, 'read', 'f32'], out: [2, 'read_write', out] },
});

export const convert = {
  ...family('convert', wgsl(import.meta.url, './convert.wgsl'), iface('u32'), {
    to_bf16: { uses: ['src', 'out'] },
  }),
  ...family('convert-f16', wgsl(import.meta.url, './convert-f16.wgsl'), iface('f16'), {
    to_f16: { uses: ['src', 'out'], requires: 'shader-f16' },
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
