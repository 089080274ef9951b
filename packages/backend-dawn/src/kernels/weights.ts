import { family, type KernelDescriptor, type ParamType } from './kernel.js';

/**
 * How a kernel reads a weight operand (`--dtype`): 'f32' (the master copy itself), 'bf16'
 * (the compute copy packed 2 per u32, element i in the low half of word i/2 when i is even;
 * widened by a shift, so every adapter runs it) or 'f16' (array<f16>; needs shader-f16).
 * Products and sums stay f32 in every variant.
 */
export type WeightDtype = 'f32' | 'bf16' | 'f16';

/**
 * Each fragment declares binding 2 as `b` and `read_b(i)`, element i as f32. It is put in
 * front of the family source (`enable f16;` must precede every declaration).
 */
export const WEIGHT_FRAGMENTS: Record<WeightDtype, string> = {
  f32: `@group(0) @binding(2) var<storage, read> b: array<f32>;
fn read_b(i: u32) -> f32 { return b[i]; }`,
  bf16: `@group(0) @binding(2) var<storage, read> b: array<u32>;
fn read_b(i: u32) -> f32 {
  let w = b[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}`,
  f16: `enable f16;
@group(0) @binding(2) var<storage, read> b: array<f16>;
fn read_b(i: u32) -> f32 { return f32(b[i]); }`,
};

/** A family built once per weight dtype, under the family names `name`, `name+bf16`, `name+f16`. */
export function weightStorageFamilies<E extends string>(
  name: string,
  source: string,
  params: readonly (readonly [string, ParamType])[],
  entries: Record<E, Parameters<typeof family>[3][string]>,
): Record<WeightDtype, Record<E, KernelDescriptor>> {
  const build = (d: WeightDtype) => {
    const f = family(
      d === 'f32' ? name : `${name}+${d}`,
      `${WEIGHT_FRAGMENTS[d]}\n${source}`,
      params,
      entries,
    ) as Record<E, KernelDescriptor>;
    if (d === 'f16') for (const k of Object.values<KernelDescriptor>(f)) k.requires = 'shader-f16';
    return f;
  };
  return { f32: build('f32'), bf16: build('bf16'), f16: build('f16') };
}

/** Bytes of a compute copy of `elems` weights (whole u32 words: bf16 packs two per word). */
export function computeCopyBytes(elems: number): number {
  return Math.ceil((elems * 2) / 4) * 4;
}

/** Host bf16 rounding, nearest even (as torch's `.to(torch.bfloat16)`); NaN stays a quiet NaN. */
export function toBf16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The f32 value of bf16 bits. */
export function fromBf16Bits(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

/** Host f16 rounding, nearest even (IEEE binary16; overflow → ±inf), as bits. */
export function toF16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal: shift the full significand, round to nearest even
    if (e < -10) return sign;
    const full = man | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let r = full >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

/** The value of f16 bits. */
export function fromF16Bits(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
