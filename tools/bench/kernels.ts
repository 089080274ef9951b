/**
 * Kernel micro-benchmarks over the primitive interface: matmul GFLOP/s and the vocabulary-
 * statistics op's GB/s. Each timing enqueues `repeats` ops and reads back one scalar (a sum
 * of their sumSquares), so a tracing backend runs them in one graph and no backend ships the
 * [M, N] results to the host; the reduction adds O(M·N) work to O(M·N·K). The repeats must
 * differ (a graph optimiser merges identical nodes): matmul scales its left operand by a
 * per-repeat factor (O(M·K) more work), vocabStats uses a per-repeat temperature.
 */
import type { Backend, Tensor } from '@oneshot-em/core';
import { normalAt, RngStream } from '@oneshot-em/core';

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

/** CPU-sized defaults: the 25M model's projections and its vocabulary head at 256 tokens. */
export const CPU_MATMUL_SHAPES: MatmulShape[] = [
  { m: 256, k: 512, n: 512 },
  { m: 256, k: 512, n: 1408 },
  { m: 256, k: 1408, n: 512 },
  { m: 256, k: 512, n: 32000 },
  { m: 1, k: 512, n: 32000 },
];
/**
 * GPU shapes: Qwen2.5-0.5B / 1.5B projections at 4096 tokens, the vocabulary head at 1024 tokens
 * (a [1024, 151936] f32 result is 622 MB: larger ones pass WebGPU's 1-2 GB binding limits) and
 * batch-1 decode of the head.
 */
export const GPU_MATMUL_SHAPES: MatmulShape[] = [
  { m: 4096, k: 896, n: 4864 },
  { m: 4096, k: 1536, n: 8960 },
  { m: 4096, k: 8960, n: 1536 },
  { m: 1024, k: 896, n: 151936 },
  { m: 1, k: 896, n: 151936 },
];

export const CPU_VOCAB_SHAPES = [{ n: 256, v: 32000 }];
export const GPU_VOCAB_SHAPES = [
  { n: 1024, v: 151936 },
  { n: 256, v: 151936 },
];

function randomTensor(backend: Backend, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  // a short period is enough for timing; values only need to be finite and varied
  const period = Math.min(n, 1 << 16);
  const base = Float32Array.from({ length: period }, (_, i) => normalAt(seed, RngStream.data, i));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i += period) data.set(base.subarray(0, Math.min(period, n - i)), i);
  return backend.upload(data, shape);
}

/** Enqueues `make` `repeats` times, reduces every output to one scalar, reads it; seconds per op. */
async function timeOps(
  backend: Backend,
  repeats: number,
  make: (i: number) => Tensor,
): Promise<number> {
  const once = async (count: number) => {
    let total: Tensor | undefined;
    for (let i = 0; i < count; i++) {
      const out = make(i);
      const s = backend.sumSquares(out);
      backend.dispose(out);
      if (total) {
        const t = backend.add(total, s);
        backend.dispose(total);
        backend.dispose(s);
        total = t;
      } else total = s;
    }
    if (!total) throw new Error('timeOps: repeats must be ≥ 1');
    const host = await backend.read(total);
    backend.dispose(total);
    if (!Number.isFinite(host[0])) throw new Error('kernel benchmark: non-finite result');
  };
  if (backend.kind !== 'reference') await once(repeats);
  const t0 = performance.now();
  await once(repeats);
  return (performance.now() - t0) / 1000 / repeats;
}

/** `bytes` moved per op at `seconds` per op: GB/s, and its share of the device's bandwidth if known. */
function throughput(bytes: number, seconds: number, bandwidthGBps: number | null) {
  const gbps = bytes / seconds / 1e9;
  return { gbps, bandwidth_fraction: bandwidthGBps ? gbps / bandwidthGBps : null };
}

export interface MatmulResult extends MatmulShape {
  /** the Dawn kernel variant asked for (DAWN_MATMUL_VARIANTS), absent on other backends */
  variant?: string;
  seconds: number;
  gflops: number;
  /** operand and result bytes per second: 4·(M·K + M·N) + the weight's bytes (2 or 4 each) */
  gbps: number;
  /** gbps over the device's memory bandwidth, when known (decode shapes are bandwidth-bound) */
  bandwidth_fraction: number | null;
}

/**
 * The Dawn matmul variants `--only kernels` measures, each on its own backend: the automatic
 * choice in f32, bf16 and f16 weights, and every explicit kernel on the shapes it applies to
 * (gemv, gemv4: M ≤ 8; tile64, sgmat: M ≥ 64; tile128: M ≥ 128), tile128 and gemv4 also with bf16
 * weights. An f16 variant is skipped on adapters without shader-f16.
 */
export const DAWN_MATMUL_VARIANTS: {
  variant: string;
  options: { matmul?: string; dtype?: string; experimentalFeatures?: boolean };
  applies: (s: MatmulShape) => boolean;
  weightBytes: number;
}[] = [
  { variant: 'auto', options: {}, applies: () => true, weightBytes: 4 },
  { variant: 'tile16', options: { matmul: 'tile16' }, applies: () => true, weightBytes: 4 },
  { variant: 'tile64', options: { matmul: 'tile64' }, applies: (s) => s.m >= 64, weightBytes: 4 },
  {
    variant: 'tile128',
    options: { matmul: 'tile128' },
    applies: (s) => s.m >= 128,
    weightBytes: 4,
  },
  {
    variant: 'tile128 bf16',
    options: { matmul: 'tile128', dtype: 'bf16' },
    applies: (s) => s.m >= 128,
    weightBytes: 2,
  },
  // f16 subgroup matrices, with Dawn's experimental features exposed; without
  // chromium-experimental-subgroup-matrix its backend says so on stderr and these rows are tile16's
  {
    variant: 'sgmat',
    options: { matmul: 'sgmat', experimentalFeatures: true },
    applies: (s) => s.m >= 64,
    weightBytes: 4,
  },
  { variant: 'gemv', options: { matmul: 'gemv' }, applies: (s) => s.m <= 8, weightBytes: 4 },
  { variant: 'gemv4', options: { matmul: 'gemv4' }, applies: (s) => s.m <= 8, weightBytes: 4 },
  {
    variant: 'gemv4 bf16',
    options: { matmul: 'gemv4', dtype: 'bf16' },
    applies: (s) => s.m <= 8,
    weightBytes: 2,
  },
  { variant: 'auto bf16', options: { dtype: 'bf16' }, applies: () => true, weightBytes: 2 },
  { variant: 'auto f16', options: { dtype: 'f16' }, applies: () => true, weightBytes: 2 },
];

/** x [M, K] · w [N, K]ᵀ, the model's layout (weights are [out, in]). */
export async function benchMatmul(
  backend: Backend,
  shapes: MatmulShape[],
  repeats: number,
  bandwidthGBps: number | null = null,
  variant?: { variant: string; weightBytes: number },
): Promise<MatmulResult[]> {
  const results: MatmulResult[] = [];
  for (const s of shapes) {
    const a = randomTensor(backend, [s.m, s.k], 1);
    const b = randomTensor(backend, [s.n, s.k], 2);
    const seconds = await timeOps(backend, repeats, (i) => {
      const ai = backend.scale(a, 1 + i / 1024);
      const out = backend.matmul(ai, b, { transB: true });
      backend.dispose(ai);
      return out;
    });
    backend.dispose(a);
    backend.dispose(b);
    const bytes = 4 * (s.m * s.k + s.m * s.n) + (variant?.weightBytes ?? 4) * s.n * s.k;
    results.push({
      ...s,
      ...(variant && { variant: variant.variant }),
      seconds,
      gflops: (2 * s.m * s.n * s.k) / seconds / 1e9,
      ...throughput(bytes, seconds, bandwidthGBps),
    });
  }
  return results;
}

/** A vocabulary op's row, `benchVocabStats` or `benchVocabGrad`. */
export interface VocabOpResult {
  n: number;
  v: number;
  seconds: number;
  /**
   * bytes the op must move per second: vocabStats reads the [N, V] f32 logits once, vocabGrad
   * reads them and writes their gradient
   */
  gbps: number;
  /** gbps over the device's memory bandwidth, when known */
  bandwidth_fraction: number | null;
}

/**
 * One row per shape: `time` measures an op on random [N, V] logits and targets spread over the
 * vocabulary; `bytesPerLogit` is what the op must move per logit.
 */
async function vocabRows(
  backend: Backend,
  shapes: { n: number; v: number }[],
  bandwidthGBps: number | null,
  bytesPerLogit: number,
  time: (logits: Tensor, targets: Tensor, n: number) => Promise<number>,
): Promise<VocabOpResult[]> {
  const results: VocabOpResult[] = [];
  for (const s of shapes) {
    const logits = randomTensor(backend, [s.n, s.v], 3);
    const targets = backend.upload(
      Int32Array.from({ length: s.n }, (_, i) => (i * 7919) % s.v),
      [s.n],
    );
    const seconds = await time(logits, targets, s.n);
    backend.dispose(logits);
    backend.dispose(targets);
    const bytes = bytesPerLogit * s.n * s.v;
    results.push({ ...s, seconds, ...throughput(bytes, seconds, bandwidthGBps) });
  }
  return results;
}

/** vocabStats(lse, ez) at T 0.5 — the token-entropy objective's forward statistics. */
export function benchVocabStats(
  backend: Backend,
  shapes: { n: number; v: number }[],
  repeats: number,
  bandwidthGBps: number | null,
): Promise<VocabOpResult[]> {
  // one read of the f32 logits
  return vocabRows(backend, shapes, bandwidthGBps, 4, (logits, targets) =>
    timeOps(backend, repeats, (i) =>
      backend.vocabStats(logits, targets, { temperature: 0.5 + i / 1024, stats: ['lse', 'ez'] }),
    ),
  );
}

/**
 * vocabGrad(lse, ez) at T 0.5 — the token-entropy objective's backward through the statistics —
 * with the statistic values uploaded, so the timed graph is the gradient alone (plus timeOps'
 * sumSquares pass over it, not counted in gbps).
 */
export function benchVocabGrad(
  backend: Backend,
  shapes: { n: number; v: number }[],
  repeats: number,
  bandwidthGBps: number | null,
): Promise<VocabOpResult[]> {
  const stats = ['lse', 'ez'] as const;
  // the f32 logits read and their gradient written
  return vocabRows(backend, shapes, bandwidthGBps, 8, async (logits, targets, n) => {
    const forward = backend.vocabStats(logits, targets, { temperature: 0.5, stats });
    const values = backend.upload(await backend.read(forward), [n, stats.length]);
    backend.dispose(forward);
    const coeffs = randomTensor(backend, [n, stats.length], 4);
    const seconds = await timeOps(backend, repeats, (i) =>
      backend.vocabGrad(logits, targets, values, coeffs, { temperature: 0.5 + i / 1024, stats }),
    );
    backend.dispose(values);
    backend.dispose(coeffs);
    return seconds;
  });
}

/**
 * This machine's memory bandwidth as a copy measures it: bytes read + written per second by a
 * 256 MiB `Float32Array.set`, best of 8 (a CPU backend's bandwidth when --bandwidth is not given).
 */
export function hostCopyGBps(): number {
  const src = new Float32Array(64 * 2 ** 20).fill(1);
  const dst = new Float32Array(src.length);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * src.byteLength) / (best / 1000) / 1e9;
}
