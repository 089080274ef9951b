import type { AdamWParams, SgdParams, Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext, numel, sameSize } from '../../runtime/context.js';
import { elementPieces } from '../../runtime/segments.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { family, wgsl } from '../kernel.js';

export const optimizer = family(
  'optimizer',
  wgsl(import.meta.url, './optimizer.wgsl'),
  {
    params: [
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
    bindings: {
      param: [1, 'read_write', 'f32'],
      grad: [2, 'read', 'f32'],
      m: [3, 'read_write', 'f32'],
      v: [4, 'read_write', 'f32'],
    },
  },
  {
    adamw: { uses: ['param', 'grad', 'm', 'v'] },
    sgd: { uses: ['param', 'grad'] },
  },
);

/** In place on param, m, v (torch.optim.AdamW); bias corrections in f64 on the host. */
export function adamwUpdate(
  ctx: KernelContext,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  p: AdamWParams,
): void {
  for (const [t, what] of [
    [grad, 'grad'],
    [m, 'm'],
    [v, 'v'],
  ] as const) {
    sameSize(param, t, `adamwUpdate ${what}`);
  }
  const n = numel(param.shape);
  const uniforms = {
    lr: p.lr,
    beta1: p.beta1,
    beta2: p.beta2,
    eps: p.eps,
    weight_decay: p.weightDecay,
    step_size: p.lr / (1 - p.beta1 ** p.step),
    sqrt_bc2: Math.sqrt(1 - p.beta2 ** p.step),
    grad_scale: p.gradScale,
  };
  if ([param, grad, m, v].some((t) => DawnTensor.isSplit(t))) {
    for (const { elems, bindings } of elementPieces([param, grad, m, v], 'adamwUpdate')) {
      const [pb, gb, mb, vb] = bindings;
      ctx.queue.dispatch(
        optimizer.adamw,
        { n: elems, ...uniforms },
        { param: pb, grad: gb, m: mb, v: vb },
        ceilDiv(elems, 64),
      );
    }
    return;
  }
  ctx.queue.dispatch(
    optimizer.adamw,
    { n, ...uniforms },
    { param: buf(param, 'param'), grad: buf(grad, 'grad'), m: buf(m, 'm'), v: buf(v, 'v') },
    ceilDiv(n, 64),
  );
}

/** In place: p ← p − lr · (gradScale·g + wd·p) */
export function sgdUpdate(ctx: KernelContext, param: Tensor, grad: Tensor, p: SgdParams): void {
  sameSize(param, grad, 'sgdUpdate grad');
  const n = numel(param.shape);
  const uniforms = {
    lr: p.lr,
    beta1: 0,
    beta2: 0,
    eps: 0,
    weight_decay: p.weightDecay,
    step_size: 0,
    sqrt_bc2: 1,
    grad_scale: p.gradScale,
  };
  if (DawnTensor.isSplit(param) || DawnTensor.isSplit(grad)) {
    for (const { elems, bindings } of elementPieces([param, grad], 'sgdUpdate'))
      ctx.queue.dispatch(
        optimizer.sgd,
        { n: elems, ...uniforms },
        { param: bindings[0], grad: bindings[1] },
        ceilDiv(elems, 64),
      );
    return;
  }
  ctx.queue.dispatch(
    optimizer.sgd,
    { n, ...uniforms },
    { param: buf(param, 'param'), grad: buf(grad, 'grad') },
    ceilDiv(n, 64),
  );
}
