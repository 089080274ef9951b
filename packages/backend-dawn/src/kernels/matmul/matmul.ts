import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';

const params = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
] as const;

/** 16×16 tiles, one output per thread (the default); transposes are override constants. */
export const matmulTile16 = family('matmul', wgsl(import.meta.url, './matmul.wgsl'), params, {
  matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16 },
});

/** 64×64 tiles, 4×4 outputs per thread in registers (`matmul: 'tile64'`). */
export const matmulTile64 = family(
  'matmul-tile64',
  wgsl(import.meta.url, './matmul-tile64.wgsl'),
  params,
  {
    matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16 },
  },
);

/** 16×16 tiles staged in f16, f16 products, f32 sums (the opt-in `f16` option; shader-f16). */
export const matmulF16 = family('matmul-f16', wgsl(import.meta.url, './matmul-f16.wgsl'), params, {
  matmul: { bindings: { a: 1, b: 2, out: 3 }, workgroupSize: 16, requires: 'shader-f16' },
});

export type MatmulVariant = 'tile16' | 'tile64';

/**
 * op(a) [M, K] · op(b) [K, N] → [M, N]; with `ctx.f16` every matmul takes the f16 kernel,
 * else tile64 only for M ≥ 64 (decode rows use tile16).
 */
export function matmul(
  ctx: KernelContext,
  a: Tensor,
  b: Tensor,
  opts: { transA?: boolean; transB?: boolean } = {},
): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [a0, a1] = a.shape;
  const [b0, b1] = b.shape;
  const [M, K] = transA ? [a1, a0] : [a0, a1];
  const [Kb, N] = transB ? [b1, b0] : [b0, b1];
  if (a.shape.length !== 2 || b.shape.length !== 2 || K !== Kb) {
    throw new Error(
      `matmul: op(a) of [${a.shape}] (transA ${transA}) and op(b) of [${b.shape}] (transB ${transB}) do not chain`,
    );
  }
  const out = ctx.alloc([M, N]);
  const wide = !ctx.f16 && ctx.matmul === 'tile64' && M >= 64;
  const tile = wide ? 64 : 16;
  ctx.queue.dispatch(
    ctx.f16 ? matmulF16.matmul : wide ? matmulTile64.matmul : matmulTile16.matmul,
    { m: M, n: N, k: K },
    { a: buf(a, 'matmul a'), b: buf(b, 'matmul b'), out: buf(out, '') },
    [ceilDiv(N, tile), ceilDiv(M, tile)],
    { TRANS_A: Number(transA), TRANS_B: Number(transB) },
  );
  return out;
}
