import type { AdamWParams, SgdParams, Tensor } from '@oneshot-em/core';
import type { HostOptimizer } from '@oneshot-em/core/node';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';

/** The updated parameter's Σ p², as sumSquares gives it (ops/dense). */
const SUM_SQUARES = { shape: [1], dtype: 'f32' as const };

/**
 * The optimizers are host ops (the updated weight stays `uploaded`: it gets a compute copy like
 * the one it replaces) (core's train/host-optimizer/in-place.ts says where and why):
 * in place on the host arrays of param, m and v, split over worker threads by core's
 * HostOptimizer, once the run that computes the gradient has. Each also outputs Σ p² of the
 * updated parameter from the same pass (the trainer's finiteness check of the weights reads
 * it through sumSquares: no second pass over 4 bytes a parameter, ops/dense).
 */
export function adamwUpdate(
  ctx: Tracer,
  optimizer: HostOptimizer,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  p: AdamWParams,
): void {
  const f32 = { shape: param.shape, dtype: 'f32' as const };
  const params = { ...p };
  const [np, nm, nv, ss] = ctx.traceHost(
    [param, grad, m, v],
    [{ ...f32, uploaded: OrtTensor.valueOf(param).uploaded }, f32, f32, SUM_SQUARES],
    ([pp, g, mm, vv]) => {
      const [p2, m2, v2, sum] = optimizer.adamw(
        pp as Float32Array,
        g as Float32Array,
        mm as Float32Array,
        vv as Float32Array,
        params,
      );
      return [p2, m2, v2, new Float32Array([sum])];
    },
    [0, 2, 3],
  );
  np.sumSquares = ss;
  ctx.repoint(param, np);
  ctx.repoint(m, nm);
  ctx.repoint(v, nv);
}

/** In place on param's host array. */
export function sgdUpdate(
  ctx: Tracer,
  optimizer: HostOptimizer,
  param: Tensor,
  grad: Tensor,
  p: SgdParams,
): void {
  const params = { ...p };
  const [np, ss] = ctx.traceHost(
    [param, grad],
    [
      { shape: param.shape, dtype: 'f32', uploaded: OrtTensor.valueOf(param).uploaded },
      SUM_SQUARES,
    ],
    ([pp, g]) => {
      const [p2, sum] = optimizer.sgd(pp as Float32Array, g as Float32Array, params);
      return [p2, new Float32Array([sum])];
    },
    [0],
  );
  np.sumSquares = ss;
  ctx.repoint(param, np);
}
