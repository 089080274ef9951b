import { numel, type Tensor } from '@oneshot-em/core';
import type { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitRmsnormBackward, emitRmsnormForward } from './rmsnorm-graph.js';

export function rmsnormForward(
  ctx: Tracer,
  x: Tensor,
  weight: Tensor,
  eps: number,
): { out: OrtTensor; rstd: OrtTensor } {
  const C = weight.shape[0];
  const n = numel(x.shape) / C;
  const [out, rstd] = ctx.trace(
    [x, weight],
    [
      { shape: x.shape, dtype: 'f32' },
      { shape: [n], dtype: 'f32' },
    ],
    (b, [i, w]) => {
      const [o, r] = emitRmsnormForward(b, b.reshape(i.name, [n, C]), w.name, eps, n);
      return [b.reshape(o, x.shape), r];
    },
  );
  return { out, rstd };
}

export function rmsnormBackward(
  ctx: Tracer,
  x: Tensor,
  weight: Tensor,
  rstd: Tensor,
  dOut: Tensor,
): { dInput: OrtTensor; dWeight: OrtTensor } {
  const C = weight.shape[0];
  const n = numel(x.shape) / C;
  const [dInput, dWeight] = ctx.trace(
    [x, weight, rstd, dOut],
    [
      { shape: x.shape, dtype: 'f32' },
      { shape: weight.shape, dtype: 'f32' },
    ],
    (b, [i, w, r, d]) => {
      const [dx, dw] = emitRmsnormBackward(
        b,
        b.reshape(i.name, [n, C]),
        w.name,
        r.name,
        b.reshape(d.name, [n, C]),
        n,
      );
      return [b.reshape(dx, x.shape), dw];
    },
  );
  return { dInput, dWeight };
}
