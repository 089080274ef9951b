import type { Tensor, VocabStatName } from '@oneshot-em/core';
import { buf, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { reductionFamilies, wgsl } from '../kernel.js';

export const vocab = reductionFamilies(
  'vocab',
  wgsl(import.meta.url, './vocab.wgsl'),
  {
    workgroup: wgsl(import.meta.url, './merge-workgroup.wgsl'),
    subgroup: wgsl(import.meta.url, './merge-subgroup.wgsl'),
  },
  [
    ['n', 'u32'],
    ['v', 'u32'],
    ['inv_t', 'f32'],
    ['n_stats', 'u32'],
    ['code0', 'u32'],
    ['code1', 'u32'],
    ['code2', 'u32'],
    ['code3', 'u32'],
    ['code4', 'u32'],
    ['lse_col', 'u32'],
    ['lse_stride', 'u32'],
  ],
  {
    stats: { bindings: { logits: 1, targets: 2, stats_out: 3 }, workgroupSize: 256 },
    grad_logits: {
      bindings: { logits: 1, targets: 2, stat_values: 4, coeffs: 5, lse_source: 6, grad: 7 },
      workgroupSize: 256,
    },
  },
);

const CODES: Record<VocabStatName, number> = { lse: 0, ez: 1, zy: 2, mz: 3, s2: 4 };

/** The uniform fields naming the requested statistics, in order. */
export function statCodes(stats: readonly VocabStatName[]): Record<string, number> {
  if (stats.length === 0 || stats.length > 5)
    throw new Error(`vocab stats: expected 1 to 5 statistics, got ${stats.length}`);
  const out: Record<string, number> = { n_stats: stats.length };
  for (let i = 0; i < 5; i++) {
    const name = stats[i];
    if (name !== undefined && !(name in CODES))
      throw new Error(`vocab stats: unknown statistic "${name}"`);
    out[`code${i}`] = name === undefined ? 0 : CODES[name];
  }
  return out;
}

function checkTemperature(t: number): void {
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`vocab statistics: temperature = ${t}; expected a finite number > 0`);
}

export interface VocabOptions {
  temperature: number;
  stats: readonly VocabStatName[];
}

/** logits [N, V], targets [N] i32 → [N, S] */
export function vocabStats(
  ctx: KernelContext,
  logits: Tensor,
  targets: Tensor,
  opts: VocabOptions,
): Tensor {
  const [N, V] = logits.shape;
  expectDtype(targets, 'i32', 'vocabStats targets');
  checkTemperature(opts.temperature);
  const out = ctx.alloc([N, opts.stats.length]);
  ctx.queue.dispatch(
    vocab[ctx.reduction].stats,
    {
      n: N,
      v: V,
      inv_t: 1 / opts.temperature,
      ...statCodes(opts.stats),
      lse_col: 0,
      lse_stride: 0,
    },
    { logits: buf(logits, 'logits'), targets: buf(targets, 'targets'), stats_out: buf(out, '') },
    N,
  );
  return out;
}

/** dL/dz [N, V] from statValues and coeffs [N, S] */
export function vocabGrad(
  ctx: KernelContext,
  logits: Tensor,
  targets: Tensor,
  statValues: Tensor,
  coeffs: Tensor,
  opts: VocabOptions,
): Tensor {
  const [N, V] = logits.shape;
  const S = opts.stats.length;
  expectDtype(targets, 'i32', 'vocabGrad targets');
  checkTemperature(opts.temperature);
  if (numel(statValues.shape) !== N * S || numel(coeffs.shape) !== N * S) {
    throw new Error(
      `vocabGrad: statValues [${statValues.shape}] and coeffs [${coeffs.shape}] must be [${N}, ${S}]`,
    );
  }
  // p_j needs lse; when the caller did not ask for it, compute it here.
  let lseSource = statValues;
  let lseCol = opts.stats.indexOf('lse');
  let lseStride = S;
  if (lseCol < 0 && opts.stats.some((s) => s === 'ez' || s === 's2')) {
    lseSource = vocabStats(ctx, logits, targets, { temperature: opts.temperature, stats: ['lse'] });
    lseCol = 0;
    lseStride = 1;
  }
  const dz = ctx.alloc([N, V]);
  ctx.queue.dispatch(
    vocab[ctx.reduction].grad_logits,
    {
      n: N,
      v: V,
      inv_t: 1 / opts.temperature,
      ...statCodes(opts.stats),
      lse_col: Math.max(0, lseCol),
      lse_stride: lseStride,
    },
    {
      logits: buf(logits, 'logits'),
      targets: buf(targets, 'targets'),
      stat_values: buf(statValues, 'statValues'),
      coeffs: buf(coeffs, 'coeffs'),
      lse_source: buf(lseSource, 'lse'),
      grad: buf(dz, ''),
    },
    N,
  );
  if (lseSource !== statValues) ctx.dispose(lseSource);
  return dz;
}
