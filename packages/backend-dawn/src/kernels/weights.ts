import { type EntrySpec, family, type KernelDescriptor, type KernelInterface } from './kernel.js';

/**
 * How a kernel reads a weight operand (`--dtype`): 'f32' (the master copy itself), 'bf16'
 * (the compute copy packed 2 per u32, element i in the low half of word i/2 when i is even;
 * widened by a shift, so every adapter runs it) or 'f16' (array<f16>; needs shader-f16).
 * Products and sums stay f32 in every variant.
 */
export type WeightDtype = 'f32' | 'bf16' | 'f16';

/**
 * Each fragment defines `read_b(i)` (element i of the weight binding `b` as f32) and
 * `read_b4(i)` (elements i..i+3; bf16 reads two whole words when i is even). It is put in
 * front of the family source (`enable f16;` must precede every declaration).
 */
export const WEIGHT_FRAGMENTS: Record<WeightDtype, string> = {
  f32: `fn read_b(i: u32) -> f32 { return b[i]; }
fn read_b4(i: u32) -> vec4f { return vec4f(b[i], b[i + 1u], b[i + 2u], b[i + 3u]); }`,
  bf16: `fn read_b(i: u32) -> f32 {
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
fn read_b(i: u32) -> f32 { return f32(b[i]); }
fn read_b4(i: u32) -> vec4f { return vec4f(vec4<f16>(b[i], b[i + 1u], b[i + 2u], b[i + 3u])); }`,
};

/** The storage element of the weight binding `b` per dtype (bf16: two per u32 word). */
const WEIGHT_ELEMENT = { f32: 'f32', bf16: 'u32', f16: 'f16' } as const;

/** `iface` with its weight binding `b` stored as `dtype`. */
export function weightInterface(iface: KernelInterface, dtype: WeightDtype): KernelInterface {
  const b = iface.bindings.b;
  if (!b) throw new Error('weightInterface: the interface has no weight binding `b`');
  return { ...iface, bindings: { ...iface.bindings, b: [b[0], b[1], WEIGHT_ELEMENT[dtype]] } };
}

/**
 * A family built once per weight dtype, under the family names `name`, `name+bf16`,
 * `name+f16`; `iface` declares the weight binding `b` (its element type is the dtype's).
 */
export function weightStorageFamilies<E extends string>(
  name: string,
  source: string,
  iface: KernelInterface,
  entries: Record<E, EntrySpec>,
): Record<WeightDtype, Record<E, KernelDescriptor>> {
  const build = (d: WeightDtype) => {
    const f = family(
      d === 'f32' ? name : `${name}+${d}`,
      `${WEIGHT_FRAGMENTS[d]}\n${source}`,
      weightInterface(iface, d),
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
