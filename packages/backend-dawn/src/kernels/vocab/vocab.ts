import type { Tensor, VocabStatName } from '@oneshot-em/core';
import { buf, expectDtype, type KernelContext, numel } from '../../runtime/context.js';
import { segmentView } from '../../runtime/segments.js';
import { DawnTensor } from '../../runtime/tensor.js';
import { reductionFamilies, treeReduction, wgsl } from '../kernel.js';

export const vocab = reductionFamilies(
  'vocab',
  wgsl(import.meta.url, './vocab.wgsl'),
  {
    workgroup: [
      treeReduction('tree_merge', 'Partial', (a, b) => `combine(${a}, ${b})`),
      wgsl(import.meta.url, './merge-workgroup.wgsl'),
    ].join('\n'),
    subgroup: wgsl(import.meta.url, './merge-subgroup.wgsl'),
  },
  {
    params: [
      ['n', 'u32'],
      ['v', 'u32'],
      ['inv_t', 'f32'],
      ['n_stats', 'u32'],
      ['code0', 'u32'],
      ['code1', 'u32'],
      ['code2', 'u32'],
      ['code3', 'u32'],
      ['code4', 'u32'],
      ['lse_col', 'u32'], // grad: column of lse in the lse source
      ['lse_stride', 'u32'], // grad: row stride of the lse source
    ],
    bindings: {
      logits: [1, 'read', 'f32'],
      targets: [2, 'read', 'i32'],
      stats_out: [3, 'read_write', 'f32'],
      stat_values: [4, 'read', 'f32'],
      coeffs: [5, 'read', 'f32'],
      lse_source: [6, 'read', 'f32'],
      grad: [7, 'read_write', 'f32'],
    },
  },
  {
    stats: { uses: ['logits', 'targets', 'stats_out'], workgroupSize: 256 },
    grad_logits: {
      uses: ['logits', 'targets', 'stat_values', 'coeffs', 'lse_source', 'grad'],
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

/** Rows [row0, row0 + rows) of a dense [N, width] tensor as a new tensor (a copy). */
function rowsOf(ctx: KernelContext, t: Tensor, row0: number, rows: number, width: number): Tensor {
  const out = ctx.alloc([rows, width], t.dtype);
  if (rows * width > 0)
    ctx.queue.copy(buf(t, 'vocab rows'), row0 * width * 4, buf(out, ''), 0, rows * width * 4);
  return out;
}

/**
 * logits [N, V], targets [N] i32 → [N, S]. Split logits (row segments): one pass per segment
 * on its rows; each row is whole in one segment, so the results equal the unsplit ones.
 */
export function vocabStats(
  ctx: KernelContext,
  logits: Tensor,
  targets: Tensor,
  opts: VocabOptions,
): Tensor {
  const [N, V] = logits.shape;
  expectDtype(targets, 'i32', 'vocabStats targets');
  checkTemperature(opts.temperature);
  const S = opts.stats.length;
  const out = ctx.alloc([N, S]);
  if (!DawnTensor.isSplit(logits)) {
    statsPass(ctx, buf(logits, 'logits'), buf(targets, 'targets'), buf(out, ''), N, V, opts);
    return out;
  }
  for (const seg of DawnTensor.segments(logits, 'logits')) {
    const y = rowsOf(ctx, targets, seg.row0, seg.rows, 1);
    const part = ctx.alloc([seg.rows, S]);
    statsPass(ctx, seg.buffer, buf(y, 'targets'), buf(part, ''), seg.rows, V, opts);
    ctx.queue.copy(buf(part, ''), 0, buf(out, ''), seg.row0 * S * 4, seg.rows * S * 4);
    ctx.dispose(y);
    ctx.dispose(part);
  }
  return out;
}

/** The uniform of both passes; `lse` (where the grad reads each row's lse) only matters to grad. */
function uniforms(N: number, V: number, opts: VocabOptions, lse: { col: number; stride: number }) {
  return {
    n: N,
    v: V,
    inv_t: 1 / opts.temperature,
    ...statCodes(opts.stats),
    lse_col: lse.col,
    lse_stride: lse.stride,
  };
}

function statsPass(
  ctx: KernelContext,
  logits: GPUBuffer,
  targets: GPUBuffer,
  out: GPUBuffer,
  N: number,
  V: number,
  opts: VocabOptions,
): void {
  ctx.queue.dispatch(
    vocab[ctx.reduction].stats,
    uniforms(N, V, opts, { col: 0, stride: 0 }),
    { logits, targets, stats_out: out },
    N,
    { WG: vocabWorkgroup(N, ctx.workgroupLimits) },
  );
}

/** Bytes of workgroup memory per thread of the row merge (sh_part: 6 scalars). */
const MERGE_BYTES_PER_THREAD = 24;

/**
 * Threads per row of the stats pass: 256, or for fewer than 1024 rows (a head chunk of a
 * small batch) up to 1024 — one workgroup per row leaves a large GPU mostly idle at 256 rows
 * × 256 threads, and more threads per row keep more loads in flight. A power of two within
 * the device's thread and workgroup-memory limits.
 */
export function vocabWorkgroup(rows: number, limits: { threads: number; storageBytes: number }) {
  const want = rows < 1024 ? 1024 : 256;
  let wg = 256;
  while (
    wg * 2 <= want &&
    wg * 2 <= limits.threads &&
    wg * 2 * MERGE_BYTES_PER_THREAD <= limits.storageBytes
  )
    wg *= 2;
  return wg;
}

/** dL/dz [N, V] from statValues and coeffs [N, S]; split logits give a dL/dz split alike. */
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
  let lseSource = statValues;
  let lseCol = opts.stats.indexOf('lse');
  let lseStride = S;
  if (lseCol < 0 && opts.stats.some((s) => s === 'ez' || s === 's2')) {
    lseSource = vocabStats(ctx, logits, targets, { temperature: opts.temperature, stats: ['lse'] });
    lseCol = 0;
    lseStride = 1;
  }
  const lse = { col: Math.max(0, lseCol), stride: lseStride };
  const dz = ctx.alloc([N, V]);
  if (!DawnTensor.isSplit(logits) && !DawnTensor.isSplit(dz)) {
    gradPass(ctx, [logits, targets, statValues, coeffs, lseSource], buf(dz, ''), N, V, lse, opts);
  } else {
    const dzSegs = DawnTensor.segments(dz, 'dz');
    DawnTensor.segments(logits, 'logits').forEach((seg, i) => {
      const rows = [
        rowsOf(ctx, targets, seg.row0, seg.rows, 1),
        rowsOf(ctx, statValues, seg.row0, seg.rows, S),
        rowsOf(ctx, coeffs, seg.row0, seg.rows, S),
        rowsOf(ctx, lseSource, seg.row0, seg.rows, lseStride),
      ];
      const view = segmentView(logits, seg);
      gradPass(ctx, [view, ...rows], dzSegs[i].buffer, seg.rows, V, lse, opts);
      for (const t of rows) ctx.dispose(t);
    });
  }
  if (lseSource !== statValues) ctx.dispose(lseSource);
  return dz;
}

function gradPass(
  ctx: KernelContext,
  [logits, targets, statValues, coeffs, lseSource]: Tensor[],
  dz: GPUBuffer,
  N: number,
  V: number,
  lse: { col: number; stride: number },
  opts: VocabOptions,
): void {
  ctx.queue.dispatch(
    vocab[ctx.reduction].grad_logits,
    uniforms(N, V, opts, lse),
    {
      logits: buf(logits, 'logits'),
      targets: buf(targets, 'targets'),
      stat_values: buf(statValues, 'statValues'),
      coeffs: buf(coeffs, 'coeffs'),
      lse_source: buf(lseSource, 'lse'),
      grad: dz,
    },
    N,
  );
}
