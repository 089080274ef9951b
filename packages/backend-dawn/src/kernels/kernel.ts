import { readFileSync } from 'node:fs';

/**
 * A kernel descriptor: which WGSL entry point, the layout of its uniform (binding 0,
 * one 4-byte scalar per field in declaration order), which storage bindings it uses, and
 * its default workgroup size (the `WG` override constant).
 */
export type ParamType = 'u32' | 'i32' | 'f32';

export interface KernelDescriptor {
  /** The WGSL file (one family per file); also the shader-module cache key. */
  family: string;
  source: string;
  entry: string;
  params: readonly (readonly [string, ParamType])[];
  /** Storage binding name → @binding index, for the bindings this entry point uses. */
  bindings: Readonly<Record<string, number>>;
  workgroupSize: number;
  /** A device feature the source enables (its module does not compile without it). */
  requires?: 'subgroups' | 'shader-f16';
}

/** A storage binding of a family: its @binding index, access mode and array element type. */
export type StorageBinding = readonly [
  index: number,
  access: 'read' | 'read_write',
  element: 'f32' | 'i32' | 'u32' | 'f16',
];

/**
 * The interface of a kernel family, declared once here and generated into its WGSL: the
 * uniform `p: Params` at binding 0 (one 4-byte scalar per field, in order, which is how the
 * command queue writes it) and every storage binding as `var<storage, …> name: array<…>`.
 * The .wgsl files declare neither (kernels/interface.test.ts checks that).
 */
export interface KernelInterface {
  params: readonly (readonly [string, ParamType])[];
  bindings: Readonly<Record<string, StorageBinding>>;
}

/** The WGSL declarations of an interface. */
export function wgslInterface(iface: KernelInterface): string {
  const fields = iface.params.map(([n, t]) => `  ${n}: ${t},`).join('\n');
  const storage = Object.entries(iface.bindings)
    .sort((x, y) => x[1][0] - y[1][0])
    .map(
      ([n, [i, access, el]]) =>
        `@group(0) @binding(${i}) var<storage, ${access}> ${n}: array<${el}>;`,
    );
  return [
    `struct Params {\n${fields}\n}`,
    '@group(0) @binding(0) var<uniform> p: Params;',
    ...storage,
  ].join('\n');
}

/**
 * `source` with the interface's declarations in front — after its `enable` directives, which
 * must precede every declaration (fragments put in front of a family source may bring some).
 */
export function withInterface(source: string, iface: KernelInterface): string {
  const lines = source.split('\n');
  const enable = (l: string) => /^\s*enable\s+[\w\s,]+;\s*$/.test(l);
  return [
    ...lines.filter(enable),
    '// generated from the descriptor (kernels/kernel.ts wgslInterface)',
    wgslInterface(iface),
    ...lines.filter((l) => !enable(l)),
  ].join('\n');
}

/** One entry point of a family: the storage bindings it uses, workgroup size, needed feature. */
export type EntrySpec = Pick<KernelDescriptor, 'requires'> & {
  uses: readonly string[];
  workgroupSize?: number;
};

/** Reads a .wgsl file that sits next to the descriptor module. */
export function wgsl(moduleUrl: string, file: string): string {
  return readFileSync(new URL(file, moduleUrl), 'utf8');
}

/**
 * Builds the descriptors of one family from a shared source and interface: the source gets
 * the interface's declarations, each entry the binding indices of the names it uses.
 */
export function family(
  name: string,
  source: string,
  iface: KernelInterface,
  entries: Record<string, EntrySpec>,
): Record<string, KernelDescriptor> {
  const code = withInterface(source, iface);
  const out: Record<string, KernelDescriptor> = {};
  for (const [entry, e] of Object.entries(entries)) {
    const bindings: Record<string, number> = {};
    for (const u of e.uses) {
      const b = iface.bindings[u];
      if (!b) throw new Error(`kernel ${name}/${entry}: binding '${u}' is not in its interface`);
      bindings[u] = b[0];
    }
    out[entry] = {
      family: name,
      source: code,
      entry,
      params: iface.params,
      bindings,
      workgroupSize: e.workgroupSize ?? 64,
      ...(e.requires && { requires: e.requires }),
    };
  }
  return out;
}

/**
 * How a family reduces within a workgroup: 'workgroup' (shared-memory trees; every device) or
 * 'subgroup' (subgroupAdd/subgroupMax; only on devices with the `subgroups` feature).
 */
export type Reduction = 'workgroup' | 'subgroup';

/**
 * The `Lane` struct of builtins the entry points of a reduction family take, per reduction
 * (`enable subgroups;` must precede every declaration).
 */
const lanes: Record<Reduction, string> = {
  workgroup: `struct Lane {
  @builtin(local_invocation_index) lid: u32,
}`,
  subgroup: `enable subgroups;
struct Lane {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_size) sg_size: u32,
  @builtin(subgroup_invocation_id) sg_lane: u32,
}`,
};

/**
 * A family built twice, once per reduction. Each variant's fragment declares the reduction
 * functions the family source calls; it is put in front of that source with the variant's
 * `Lane` (WGSL module-scope declarations may come in any order). The variants
 * are separate modules under separate family names, so the choice is made when the pipeline
 * is created and a device without subgroups never compiles the subgroup source.
 */
export function reductionFamilies(
  name: string,
  source: string,
  fragments: Record<Reduction, string>,
  iface: KernelInterface,
  entries: Record<string, EntrySpec>,
): Record<Reduction, Record<string, KernelDescriptor>> {
  const code = (r: Reduction) => [lanes[r], fragments[r], source].join('\n');
  const sub = family(`${name}+subgroups`, code('subgroup'), iface, entries);
  for (const k of Object.values(sub)) k.requires = 'subgroups';
  return { workgroup: family(name, code('workgroup'), iface, entries), subgroup: sub };
}

/**
 * WGSL of a reduction over the workgroup through a shared-memory tree (WG a power of two):
 * `fn name(lid: u32, value: type) -> type` returns every invocation's value combined, the same
 * total to all of them; call it from uniform control flow. `combine` writes the WGSL
 * expression that combines two values. The function owns `sh_<name>`, one value a thread.
 */
export function treeReduction(
  name: string,
  type: string,
  combine: (a: string, b: string) => string,
): string {
  const sh = `sh_${name}`;
  return `var<workgroup> ${sh}: array<${type}, WG>;

fn ${name}(lid: u32, value: ${type}) -> ${type} {
  ${sh}[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { ${sh}[lid] = ${combine(`${sh}[lid]`, `${sh}[lid + stride]`)}; }
    workgroupBarrier();
  }
  let total = ${sh}[0];
  workgroupBarrier();  // ${sh} may be written again by the next call
  return total;
}`;
}

/** Workgroups beyond 65,535 spill into y; kernels linearise with `wid.y * nwg.x + wid.x`. */
export function grid(workgroups: number): [number, number] {
  if (workgroups <= 65535) return [Math.max(1, workgroups), 1];
  return [65535, Math.ceil(workgroups / 65535)];
}
