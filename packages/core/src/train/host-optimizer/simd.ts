import type { AdamWParams } from '../../backend/tensor-ops.js';
import { adamwInPlace } from './in-place.js';

/**
 * AdamW as a WebAssembly SIMD kernel, 4 elements per iteration: the JavaScript kernel spends
 * most of its time on one f64 sqrt and two f64 divisions per element (measured 13.3 vs 3.6 ns
 * of CPU per element, in cache, on this project's loaded 2-core EPYC machine). The module is a
 * few hundred bytes, assembled below (no toolchain); it imports one shared memory.
 *
 * Precision: g, m and v are computed in f64 lanes exactly as core's reference does (same
 * operations, same order, one rounding to f32 at the store), so m and v are bit-for-bit the
 * reference's. The update u = stepSize·m / (√v / √(1−β₂ᵗ) + eps) is formed in f32 lanes (the
 * sqrt and divisions are what f64 would make slow), and p ← p·(1−lr·wd) − u again in f64: p is
 * within one ulp of itself plus 8 f32 roundings of |u| of the reference (simd.test.ts;
 * at lr 2e-5 and |p| ~ 0.02 that is bit-equal for all but ~0.5 % of elements).
 *
 * The kernel returns Σ p² of the updated (stored, f32) parameters, accumulated in f64: the
 * trainer's finiteness check of the weights after the update then costs no second pass over
 * them (a non-finite p makes it NaN or ∞).
 */

/** The slice of the WebAssembly API used here (this package's tsconfig has no DOM lib). */
interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((x) => [x]));

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const LOAD = [...simd(0x00), 4, 0]; // v128.load align=16 offset=0
const STORE = [...simd(0x0b), 4, 0];
const shuffle = (lanes: number[]): number[] => [...simd(0x0d), ...lanes];
/** f32 lanes 2, 3 down to 0, 1 (for the second promote) */
const HIGH = shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
/** two demoted halves [a0 a1 0 0], [b0 b1 0 0] → [a0 a1 b0 b1] */
const JOIN = shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
const PROMOTE = simd(95); // f64x2.promote_low_f32x4
const DEMOTE = simd(94); // f32x4.demote_f64x2_zero
const F32X4 = {
  splat: simd(0x13),
  add: simd(228),
  mul: simd(230),
  div: simd(231),
  sqrt: simd(227),
};
const F64X2 = {
  splat: simd(0x14),
  add: simd(240),
  sub: simd(241),
  mul: simd(242),
  lane: (i: number) => [...simd(0x21), i],
};
const F64_ADD = 0xa0;

/**
 * The module's bytes (memory imported as env.mem, shared, up to 4 GiB). Function `adamw`:
 *   (p, g, m, v: byte offsets, n4: element count / 4,
 *    gradScale, β₁, 1−β₁, β₂, 1−β₂, 1−lr·wd: f64,  √(1−β₂ᵗ), eps, lr/(1−β₁ᵗ): f32) → Σ p² (f64)
 */
export function adamwSimdModule(): Uint8Array {
  const params = [I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, F32, F32, F32];
  // locals: 14 i; 15..23 splats of params 5..13; 24.. scratch vectors
  const [GS, B1, C1, B2, C2, DECAY, B2S, EPS, STEP] = [15, 16, 17, 18, 19, 20, 21, 22, 23];
  const [I, X, GLO, GHI, M32, V32, U32] = [14, 24, 25, 26, 27, 28, 29];
  // the stored p, and Σ p² of lanes 0, 1 and of lanes 2, 3 (f64; locals start at zero)
  const [P32, SLO, SHI] = [30, 31, 32];
  const at = (base: number) => [...get(base), ...get(I), 0x41, 4, 0x74, 0x6a]; // base + i·16
  const lo = (x: number) => [...get(x), ...PROMOTE];
  const hi = (x: number) => [...get(x), ...get(x), ...HIGH, ...PROMOTE];
  const b: number[] = [];
  for (let k = 0; k < 9; k++)
    b.push(...get(5 + k), ...(k < 6 ? F64X2.splat : F32X4.splat), ...set(15 + k));
  b.push(0x02, 0x40, 0x03, 0x40); // block, loop
  b.push(...get(I), ...get(4), 0x4e, 0x0d, 1); // i ≥ n4: break
  // g = gradScale·grad (f64)
  b.push(...at(1), ...LOAD, ...set(X));
  b.push(...lo(X), ...get(GS), ...F64X2.mul, ...set(GLO));
  b.push(...hi(X), ...get(GS), ...F64X2.mul, ...set(GHI));
  // m = β₁m + (1−β₁)g in f64, stored as f32 (exactly the reference's rounding)
  b.push(...at(2), ...at(2), ...LOAD, ...set(X));
  for (const [half, g] of [
    [lo, GLO],
    [hi, GHI],
  ] as const)
    b.push(
      ...half(X),
      ...get(B1),
      ...F64X2.mul,
      ...get(g),
      ...get(C1),
      ...F64X2.mul,
      ...F64X2.add,
      ...DEMOTE,
    );
  b.push(...JOIN, ...tee(M32), ...STORE);
  // v = β₂v + ((1−β₂)g)g likewise
  b.push(...at(3), ...at(3), ...LOAD, ...set(X));
  for (const [half, g] of [
    [lo, GLO],
    [hi, GHI],
  ] as const)
    b.push(
      ...half(X),
      ...get(B2),
      ...F64X2.mul,
      ...get(g),
      ...get(C2),
      ...F64X2.mul,
      ...get(g),
      ...F64X2.mul,
      ...F64X2.add,
      ...DEMOTE,
    );
  b.push(...JOIN, ...tee(V32), ...STORE);
  // u = stepSize·m / (√v / √(1−β₂ᵗ) + eps) in f32: the sqrt and divisions, 4 lanes at a time
  b.push(...get(STEP), ...get(M32), ...F32X4.mul, ...get(V32), ...F32X4.sqrt, ...get(B2S));
  b.push(...F32X4.div, ...get(EPS), ...F32X4.add, ...F32X4.div, ...set(U32));
  // p = p·(1−lr·wd) − u in f64, stored as f32
  b.push(...at(0), ...at(0), ...LOAD, ...set(X));
  b.push(...lo(X), ...get(DECAY), ...F64X2.mul, ...lo(U32), ...F64X2.sub, ...DEMOTE);
  b.push(...hi(X), ...get(DECAY), ...F64X2.mul, ...hi(U32), ...F64X2.sub, ...DEMOTE);
  b.push(...JOIN, ...tee(P32), ...STORE);
  for (const [half, acc] of [
    [lo, SLO],
    [hi, SHI],
  ] as const)
    b.push(...get(acc), ...half(P32), ...half(P32), ...F64X2.mul, ...F64X2.add, ...set(acc));
  b.push(...get(I), 0x41, 1, 0x6a, ...set(I), 0x0c, 0, 0x0b, 0x0b); // i++, br loop, ends
  // return Σ p²: the four lane sums
  b.push(...get(SLO), ...get(SHI), ...F64X2.add, ...tee(SLO), ...F64X2.lane(0));
  b.push(...get(SLO), ...F64X2.lane(1), F64_ADD, 0x0b);
  const fn = [
    ...vec([
      [...uleb(1), I32],
      [...uleb(18), V128],
    ]),
    ...b,
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec([[0x60, ...vec(params.map((x) => [x])), ...vec([[F64]])]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]])),
    ...section(3, vec([uleb(0)])),
    ...section(7, vec([[...name('adamw'), 0x00, ...uleb(0)]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

/** The f32 scalars the kernel takes after its five offsets, from the step's hyper-parameters. */
export function adamwSimdScalars(p: AdamWParams): number[] {
  return [
    p.gradScale,
    p.beta1,
    1 - p.beta1,
    p.beta2,
    1 - p.beta2,
    1 - p.lr * p.weightDecay,
    Math.sqrt(1 - p.beta2 ** p.step),
    p.eps,
    p.lr / (1 - p.beta1 ** p.step),
  ];
}

/** A kernel instance over a shared memory holding `slots` × (p, g, m, v) regions of `chunk` floats. */
export class AdamwSimd {
  readonly memory: WasmMemory;
  readonly heap: Float32Array;
  private readonly run: (...args: number[]) => number;

  constructor(
    readonly chunk: number,
    readonly slots: number,
    memory?: WasmMemory,
  ) {
    // chunk is a multiple of 4 so every region is 16-byte aligned
    if (chunk % 4 !== 0) throw new Error(`adamw simd: chunk ${chunk} is not a multiple of 4`);
    const pages = Math.ceil((slots * 4 * chunk * 4) / 65536);
    this.memory = memory ?? new Wasm.Memory({ initial: pages, maximum: pages, shared: true });
    this.heap = new Float32Array(this.memory.buffer);
    const instance = new Wasm.Instance(new Wasm.Module(adamwSimdModule()), {
      env: { mem: this.memory },
    });
    this.run = instance.exports.adamw as (...args: number[]) => number;
  }

  /** Float offset of region r (0 p, 1 g, 2 m, 3 v) of a slot. */
  region(slot: number, r: number): number {
    return (slot * 4 + r) * this.chunk;
  }

  /**
   * Updates the first `len` elements of a slot in place (the tail beyond len % 4 in JS, f64);
   * returns Σ p² of the updated parameters.
   */
  update(slot: number, len: number, scalars: readonly number[], p: AdamWParams): number {
    const [po, go, mo, vo] = [0, 1, 2, 3].map((r) => this.region(slot, r));
    const n4 = len >> 2;
    let sum = this.run(po * 4, go * 4, mo * 4, vo * 4, n4, ...scalars);
    const t = n4 * 4;
    if (t < len) {
      const h = this.heap;
      sum += adamwInPlace(
        h.subarray(po + t, po + len),
        h.subarray(go + t, go + len),
        h.subarray(mo + t, mo + len),
        h.subarray(vo + t, vo + len),
        p,
      );
    }
    return sum;
  }
}

/** True when this runtime runs WebAssembly SIMD (Node ≥ 16.4 does). */
export function simdAvailable(): boolean {
  return Wasm.validate(adamwSimdModule());
}
