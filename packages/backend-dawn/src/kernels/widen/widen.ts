import type { Tensor } from '@oneshot-em/core';
import { ceilDiv, type KernelContext } from '../../runtime/context.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { wgsl } from '../kernel.js';
import { weightStorageFamilies } from '../weights.js';

export const widenByDtype = weightStorageFamilies(
  'widen',
  wgsl(import.meta.url, './widen.wgsl'),
  { params: [['n', 'u32']], bindings: { out: [1, 'read_write', 'f32'], b: [2, 'read', 'f32'] } },
  { widen: { uses: ['b', 'out'] } },
);

/**
 * A new f32 tensor of the values a weight's compute copy holds, segment by segment (the same
 * row segments as the weight). For a weight that keeps only its compute copy on the device.
 */
export function widenComputeCopy(ctx: KernelContext, t: Tensor): Tensor {
  const dtype = DawnTensor.weightDtype(t);
  if (dtype === 'f32') throw new Error(`widen: [${t.shape}] has no compute copy`);
  const out = ctx.alloc(t.shape);
  const dst = DawnTensor.segments(out, 'widen out');
  DawnTensor.weightSegments(t, 'widen').forEach((s, i) => {
    if (s.elems === 0) return;
    ctx.queue.dispatch(
      widenByDtype[dtype].widen,
      { n: s.elems },
      { b: s.buffer, out: dst[i].buffer },
      ceilDiv(s.elems, 64),
    );
  });
  return out;
}
