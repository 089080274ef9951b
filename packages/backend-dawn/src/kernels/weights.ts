import { family, type KernelDescriptor, type ParamType } from './kernel.js';

/**
 * How a kernel reads a weight operand (`--dtype`): 'f32' (the master copy itself), 'bf16'
 * (the compute copy packed 2 per u32, element i in the low half of word i/2 when i is even;
 * widened by a shift, so every adapter runs it) or 'f16' (array<f16>; needs shader-f16).
 * Products and sums stay f32 in every variant.
 */
export type WeightDtype = 'f32' | 'bf16' | 'f16';

/**
 * Each fragment declares binding 2 as `b`, `read_b(i)` (element i as f32) and `read_b4(i)`
 * (elements i..i+3; bf16 reads two whole words when i is even). It is put in front of the
 * family source (`enable f16;` must precede every declaration).
 */
export const WEIGHT_FRAGMENTS: Record<WeightDtype, string> = {
  f32: `@group(0) @binding(2) var<storage, read> b: array<f32>;
fn read_b(i: u32) -> f32 { return b[i]; }
fn read_b4(i: u32) -> vec4f { return vec4f(b[i], b[i + 1u], b[i + 2u], b[i + 3u]); }`,
  bf16: `@group(0) @binding(2) var<storage, read> b: array<u32>;
fn read_b(i: u32) -> f32 {
  let w = b[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}
fn read_b4(i: u32) -> vec4f {
  if ((i & 1u) == 1u) { return vec4f(read_b(i), read_b(i + 1u), read_b(i + 2u), read_b(i + 3u)); }
  let w0 = b[i >> 1u];
  let w1 = b[(i >> 1u) + 1u];
  return bitcast<vec4f>(vec4u(w0 << 16u, w0 & 0xffff0000u, w1 << 16u, w1 & 0xffff0000u));
}`,
  f16: `enable f16;
@group(0) @binding(2) var<storage, read> b: array<f16>;
fn read_b(i: u32) -> f32 { return f32(b[i]); }
fn read_b4(i: u32) -> vec4f { return vec4f(vec4<f16>(b[i], b[i + 1u], b[i + 2u], b[i + 3u])); }`,
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
