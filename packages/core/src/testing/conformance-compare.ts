/**
 * Comparison helpers of the conformance suite: element-wise closeness with the first
 * mismatches and the max difference in the failure message — the one `expectClose` of every
 * package's tests.
 */
import type { Tensor, TensorOps } from '../backend/tensor-ops.js';
import { normalAt, RngStream } from '../sampling/rng.js';

export interface Tolerance {
  /** |got − want| ≤ abs + rel · |want| */
  abs: number;
  /** default 0 */
  rel?: number;
}

/**
 * An absolute tolerance of `rel` times the largest |want|: for values whose small entries are
 * cancellations of large ones (gradients, sums), where a per-element relative bound is too tight.
 */
export function peakRelative(want: ArrayLike<number>, rel: number): Tolerance {
  let peak = 0;
  for (let i = 0; i < want.length; i++) peak = Math.max(peak, Math.abs(want[i]));
  return { abs: rel * peak, rel: 0 };
}

/** max |a − b| (NaN when any difference is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

/** Host data of a test tensor: floats are f32-representable so every backend sees the same values. */
export interface HostTensor {
  data: Float64Array | Int32Array;
  shape: number[];
}

export function randomTensor(shape: number[], seed: number, scale = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.fround(scale * normalAt(seed, RngStream.init, i));
  return { data, shape };
}

export function intTensor(values: number[], shape: number[]): HostTensor {
  return { data: Int32Array.from(values), shape };
}

interface ExactHost {
  uploadExact(data: Float64Array | Float32Array, shape: readonly number[]): Tensor;
  readExact(t: Tensor): Float64Array | Float32Array | Int32Array;
}
const exact = (ops: TensorOps): ExactHost | undefined =>
  'uploadExact' in ops ? (ops as unknown as ExactHost) : undefined;

/** Uploads host data; f64 values stay f64 on a reference(f64) backend. */
export function put(ops: TensorOps, h: HostTensor): Tensor {
  if (h.data instanceof Int32Array) return ops.upload(h.data, h.shape);
  const e = exact(ops);
  return e ? e.uploadExact(h.data, h.shape) : ops.upload(Float32Array.from(h.data), h.shape);
}

/** Reads a tensor back (at full precision from a reference backend). */
export async function get(
  ops: TensorOps,
  t: Tensor,
): Promise<Float64Array | Float32Array | Int32Array> {
  const e = exact(ops);
  return e ? e.readExact(t) : ops.read(t);
}

export interface Comparison {
  maxDiff: number;
  mismatches: Array<{ index: number; got: number; want: number }>;
  count: number;
}

export function compare(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): Comparison {
  const mismatches: Comparison['mismatches'] = [];
  let maxDiff = 0;
  let count = 0;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (g === w) continue; // equal, including matching infinities
    const diff = Math.abs(g - w);
    if (!(diff <= maxDiff)) maxDiff = diff;
    if (!(diff <= tol.abs + (tol.rel ?? 0) * Math.abs(w))) {
      count++;
      if (mismatches.length < 8) mismatches.push({ index: i, got: g, want: w });
    }
  }
  return { maxDiff: Number.isNaN(maxDiff) ? Number.NaN : maxDiff, mismatches, count };
}

/** Throws with the first mismatches and the max difference unless got ≈ want. */
export function expectClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): void {
  if (got.length !== want.length)
    throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  const c = compare(got, want, tol);
  if (c.count > 0) {
    const first = c.mismatches.map((m) => `[${m.index}] ${m.got} vs ${m.want}`).join(', ');
    throw new Error(
      `${what}: ${c.count}/${want.length} values outside abs ${tol.abs} + rel ${tol.rel ?? 0}; max diff ${c.maxDiff}; first: ${first}`,
    );
  }
}

/** Throws listing the first differing positions unless the integer arrays are equal. */
export function expectEqualInts(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): void {
  const diffs: string[] = [];
  let count = 0;
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) {
      count++;
      if (diffs.length < 8) diffs.push(`[${i}] ${got[i]} vs ${want[i]}`);
    }
  }
  if (count > 0)
    throw new Error(`${what}: ${count} of ${want.length} differ; first: ${diffs.join(', ')}`);
}

/** Indices of up to `count` elements spread over [0, n) (all of them when n ≤ count). */
export function sampleIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * n) / count));
}
