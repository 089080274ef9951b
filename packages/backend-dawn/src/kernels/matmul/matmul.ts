import type { Tensor } from '@oneshot-em/core';
import { buf, ceilDiv, type KernelContext } from '../../runtime/context.js';
import { DawnTensor, type Segment } from '../../runtime/tensor.js';
import { family, type KernelDescriptor, wgsl } from '../kernel.js';
import { WEIGHT_FRAGMENTS, type WeightDtype, weightStorageFamilies } from '../weights.js';
import type { SubgroupMatrixShape } from '../../runtime/device.js';
import { MATMUL_INTERFACE } from './interface.js';
import { matmulSubgroupMatrix, subgroupMatrixGrid } from './subgroup-matrix.js';
import { chooseMatmul, type OptionalMatmul } from './variant.js';

export type { MatmulVariant } from './variant.js';

const iface = MATMUL_INTERFACE;
/** A matmul kernel's source: the shared helpers (matmul-common.wgsl) and its own file. */
const source = (file: string) =>
  `${wgsl(import.meta.url, './matmul-common.wgsl')}\n${wgsl(import.meta.url, file)}`;
/** matmul.wgsl is templated on its tile element type T: f32 (tile16) or f16 (matmulF16). */
const tiled = (t: 'f32' | 'f16') => `alias T = ${t};\n${source('./matmul.wgsl')}`;
const uses = ['a', 'b', 'out'];

/**
 * 16×16 tiles, one output per thread; transposes are override constants. One module per
 * weight dtype of b (kernels/weights.ts): f32, bf16 or f16 compute copies, f32 sums.
 */
export const matmulTile16ByDtype = weightStorageFamilies('matmul', tiled('f32'), iface, {
  matmul: { uses, workgroupSize: 16 },
});
export const matmulTile16 = matmulTile16ByDtype.f32;

/** 64×64 tiles, 4×4 outputs per thread in registers (`matmul: 'tile64'`), per weight dtype. */
export const matmulTile64ByDtype = weightStorageFamilies(
  'matmul-tile64',
  source('./matmul-tile64.wgsl'),
  iface,
  { matmul: { uses, workgroupSize: 16 } },
);
export const matmulTile64 = matmulTile64ByDtype.f32;

/**
 * The opt-in f16 matmul (`createDawnBackend({ f16: true })`, devices with shader-f16): tile16's
 * source with f16 tiles — each operand rounded to f16 once, when staged (half the bytes of the
 * f32 tiles), each product taken in f16, the sum over K in f32, so rounding does not grow with
 * K beyond f32's. Error per output ≲ 3·2⁻¹¹·Σ_k |a_ik·b_kj| (two roundings of the inputs, one
 * of the product). f16's range is ±65504 with normals down to 6.1e-5: larger values do not
 * convert (WGSL leaves the result indeterminate) and much smaller ones (e.g. small gradients)
 * lose precision or vanish — a forward/generation feature, measured against f32
 * (docs/architecture.md#numerics). b is read as f32 (no compute copy).
 */
export const matmulF16 = family(
  'matmul-f16',
  `enable f16;\n${WEIGHT_FRAGMENTS.f32}\n${tiled('f16')}`,
  iface,
  {
    matmul: { uses, workgroupSize: 16, requires: 'shader-f16' },
  },
);

/**
 * The small-M kernel (M ≤ GEMV_MAX_ROWS: decode): b streamed once for all rows, per weight
 * dtype; `gemv_rows` for transB (b [N, K]), `gemv_cols` for b [K, N].
 */
export const matmulGemvByDtype = weightStorageFamilies(
  'matmul-gemv',
  source('./matmul-gemv.wgsl'),
  iface,
  {
    gemv_rows: { uses, workgroupSize: 64 },
    gemv_cols: { uses, workgroupSize: 64 },
  },
);

/**
 * The bandwidth-oriented small-M kernel (`matmul: 'gemv4'`): vec4 reads of b, a team of 8–256
 * threads per column, 32–1 columns per workgroup (gemv4_rows, gemv4Team), or 4 columns × a K slice per
 * thread, 64 columns per workgroup (gemv4_cols); per weight dtype.
 */
export const matmulGemv4ByDtype = weightStorageFamilies(
  'matmul-gemv4',
  source('./matmul-gemv4.wgsl'),
  iface,
  {
    gemv4_rows: { uses, workgroupSize: 256 },
    gemv4_cols: { uses, workgroupSize: 64 },
  },
);
/** Output columns per workgroup of gemv4_cols (4 · WG / SLICES). */
const GEMV4_COLS = 64;

/**
 * Threads per output column of gemv4_rows for N columns: at least ~1024 workgroups of 256
 * (so a narrow projection still spreads over every core), at most 32 columns per workgroup.
 */
export function gemv4Team(n: number): number {
  const cols = 2 ** Math.floor(Math.log2(Math.max(1, n / 1024)));
  return 256 / Math.min(32, cols);
}

/** 128×128 tiles, 8×8 outputs per thread, double-buffered BK = 8 (`matmul: 'tile128'`), per weight dtype. */
export const matmulTile128ByDtype = weightStorageFamilies(
  'matmul-tile128',
  source('./matmul-tile128.wgsl'),
  iface,
  { matmul: { uses, workgroupSize: 16 } },
);

/**
 * Every descriptor of an optional variant for b stored as `dtype` (what start-up validates);
 * sgmat needs the adapter's subgroup-matrix shape (none without it).
 */
export function optionalMatmulKernels(
  variant: OptionalMatmul,
  dtype: WeightDtype,
  shape?: SubgroupMatrixShape,
): KernelDescriptor[] {
  switch (variant) {
    case 'gemv':
      return Object.values(matmulGemvByDtype[dtype]);
    case 'gemv4':
      return Object.values(matmulGemv4ByDtype[dtype]);
    case 'tile64':
      return [matmulTile64ByDtype[dtype].matmul];
    case 'tile128':
      return [matmulTile128ByDtype[dtype].matmul];
    case 'sgmat':
      return shape ? [matmulSubgroupMatrix(shape, dtype)] : [];
  }
}

/** What one dense matmul dispatches: the kernel and its workgroup grid. */
export interface MatmulChoice {
  name: 'tile16' | OptionalMatmul | 'f16';
  kernel: KernelDescriptor;
  grid: (m: number, n: number) => number | [number, number];
  /** Override constants beyond the transposes (gemv4_rows: TEAM). */
  constants?: (m: number, n: number) => Record<string, number>;
}

/**
 * op(a) [M, K] · op(b) [K, N] → [M, N]. The variant comes from `chooseMatmul` (or the f16
 * kernel with `ctx.f16` and an f32 b); a b with a compute copy is read from it.
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
  ctx.asWeight(b);
  const out = ctx.alloc([M, N]);
  const constants = { TRANS_A: Number(transA), TRANS_B: Number(transB) };
  if (DawnTensor.isSplit(a) || DawnTensor.isSplit(b) || DawnTensor.isSplit(out)) {
    splitMatmul(ctx, a, b, out, transA, transB, constants);
    return out;
  }
  const choice = pick(ctx, M, N, b, transB, true);
  ctx.queue.dispatch(
    choice.kernel,
    { m: M, n: N, k: K, lda: a1, ldb: b1, ldc: N, off_a: 0, off_b: 0, off_c: 0, accumulate: 0 },
    {
      a: buf(a, 'matmul a'),
      b: DawnTensor.weightSegments(b, 'matmul b')[0].buffer,
      out: buf(out, ''),
    },
    choice.grid(M, N),
    { ...constants, ...choice.constants?.(M, N) },
  );
  return out;
}

/**
 * The kernel for an M × N block with b's storage: a weight with a compute copy reads it (f32
 * sums). Split matmuls (`dense` false) take the tile kernels only.
 */
function pick(
  ctx: KernelContext,
  m: number,
  n: number,
  b: Tensor,
  transB: boolean,
  dense: boolean,
): MatmulChoice {
  const dtype = DawnTensor.weightDtype(b);
  if (ctx.f16 && dtype === 'f32') return { name: 'f16', kernel: matmulF16.matmul, grid: tiles(16) };
  const available = dense
    ? ctx.matmulAvailable
    : { ...ctx.matmulAvailable, gemv: false, gemv4: false };
  const name = chooseMatmul(ctx.matmul, m, n, available);
  if (name === 'gemv') {
    const g = matmulGemvByDtype[dtype];
    return transB
      ? { name, kernel: g.gemv_rows, grid: (_m, cols) => cols }
      : { name, kernel: g.gemv_cols, grid: (_m, cols) => ceilDiv(cols, 64) };
  }
  if (name === 'gemv4') {
    const g = matmulGemv4ByDtype[dtype];
    return transB
      ? {
          name,
          kernel: g.gemv4_rows,
          grid: (_m, cols) => ceilDiv(cols, 256 / gemv4Team(cols)),
          constants: (_m, cols) => ({ TEAM: gemv4Team(cols) }),
        }
      : { name, kernel: g.gemv4_cols, grid: (_m, cols) => ceilDiv(cols, GEMV4_COLS) };
  }
  if (name === 'tile64')
    return { name, kernel: matmulTile64ByDtype[dtype].matmul, grid: tiles(64) };
  if (name === 'sgmat' && ctx.subgroupMatrix) {
    const shape = ctx.subgroupMatrix;
    return {
      name,
      kernel: matmulSubgroupMatrix(shape, dtype),
      grid: (rows, cols) => subgroupMatrixGrid(shape, rows, cols),
    };
  }
  if (name === 'tile128')
    return { name, kernel: matmulTile128ByDtype[dtype].matmul, grid: tiles(128) };
  return { name, kernel: matmulTile16ByDtype[dtype].matmul, grid: tiles(16) };
}

const tiles =
  (t: number) =>
  (m: number, n: number): [number, number] => [ceilDiv(n, t), ceilDiv(m, t)];

/** [lo, hi) ranges of [0, n) cut at every segment start in `starts` (one empty range if n = 0). */
function ranges(n: number, starts: number[]): Array<[number, number]> {
  const cuts = [...new Set([0, n, ...starts.filter((s) => s > 0 && s < n)])].sort((x, y) => x - y);
  if (n === 0) return [[0, 0]];
  return cuts.slice(0, -1).map((lo, i) => [lo, cuts[i + 1]]);
}

function segmentOf(segs: Segment[], row: number): Segment {
  return segs.find((s) => row < s.row0 + s.rows) ?? segs[segs.length - 1];
}

/**
 * A matmul over split operands (row segments of the stored matrices), as blocks: M, N and K
 * are cut wherever a segment of a, b or out starts, each (M, N) block is one dispatch per K
 * block into the out segment holding its rows, the K blocks after the first accumulating.
 * The K cuts change the summation order from the unsplit kernel's (a stated tolerance).
 */
function splitMatmul(
  ctx: KernelContext,
  a: Tensor,
  b: Tensor,
  out: Tensor,
  transA: boolean,
  transB: boolean,
  constants: Record<string, number>,
): void {
  const [, a1] = a.shape;
  const [, b1] = b.shape;
  const [M, N] = out.shape;
  const K = transA ? a.shape[0] : a1;
  const sa = DawnTensor.segments(a, 'matmul a');
  const sb = DawnTensor.weightSegments(b, 'matmul b');
  const so = DawnTensor.segments(out, 'matmul out');
  const starts = (segs: Segment[]) => segs.map((s) => s.row0);
  const mCuts = ranges(M, [...(transA ? [] : starts(sa)), ...starts(so)]);
  const nCuts = ranges(N, transB ? starts(sb) : []);
  const kCuts = ranges(K, [...(transA ? starts(sa) : []), ...(transB ? [] : starts(sb))]);
  for (const [m0, m1] of mCuts) {
    const o = segmentOf(so, m0);
    for (const [n0, n1] of nCuts) {
      const { kernel, grid } = pick(ctx, m1 - m0, n1 - n0, b, transB, false);
      kCuts.forEach(([k0, k1], ki) => {
        // the stored row and column where each operand's block starts
        const [ar, ac] = transA ? [k0, m0] : [m0, k0];
        const [br, bc] = transB ? [n0, k0] : [k0, n0];
        const sA = segmentOf(sa, ar);
        const sB = segmentOf(sb, br);
        ctx.queue.dispatch(
          kernel,
          {
            m: m1 - m0,
            n: n1 - n0,
            k: k1 - k0,
            lda: a1,
            ldb: b1,
            ldc: N,
            off_a: (ar - sA.row0) * a1 + ac,
            off_b: (br - sB.row0) * b1 + bc,
            off_c: (m0 - o.row0) * N + n0,
            accumulate: ki > 0 ? 1 : 0,
          },
          { a: sA.buffer, b: sB.buffer, out: o.buffer },
          grid(m1 - m0, n1 - n0),
          constants,
        );
      });
    }
  }
}
