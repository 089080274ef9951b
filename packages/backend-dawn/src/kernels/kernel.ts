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

/** One entry point of a family: its storage bindings, workgroup size and needed feature. */
type EntrySpec = Pick<KernelDescriptor, 'bindings' | 'requires'> & { workgroupSize?: number };

/** Reads a .wgsl file that sits next to the descriptor module. */
export function wgsl(moduleUrl: string, file: string): string {
  return readFileSync(new URL(file, moduleUrl), 'utf8');
}

/** Builds the descriptors of one family from a shared source and parameter struct. */
export function family(
  name: string,
  source: string,
  params: readonly (readonly [string, ParamType])[],
  entries: Record<string, EntrySpec>,
): Record<string, KernelDescriptor> {
  const out: Record<string, KernelDescriptor> = {};
  for (const [entry, e] of Object.entries(entries)) {
    out[entry] = {
      family: name,
      source,
      entry,
      params,
      bindings: e.bindings,
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
 * A family built twice, once per reduction. Each variant's fragment (`enable subgroups;` for
 * 'subgroup', which must precede every declaration) declares the `Lane` struct of builtins
 * the entry points take and the reduction functions the family source calls; it is put in
 * front of that source (WGSL module-scope declarations may come in any order). The variants
 * are separate modules under separate family names, so the choice is made when the pipeline
 * is created and a device without subgroups never compiles the subgroup source.
 */
export function reductionFamilies(
  name: string,
  source: string,
  fragments: Record<Reduction, string>,
  params: readonly (readonly [string, ParamType])[],
  entries: Record<string, EntrySpec>,
): Record<Reduction, Record<string, KernelDescriptor>> {
  const sub = family(`${name}+subgroups`, `${fragments.subgroup}\n${source}`, params, entries);
  for (const k of Object.values(sub)) k.requires = 'subgroups';
  return {
    workgroup: family(name, `${fragments.workgroup}\n${source}`, params, entries),
    subgroup: sub,
  };
}

/** Workgroups beyond 65,535 spill into y; kernels linearise with `wid.y * nwg.x + wid.x`. */
export function grid(workgroups: number): [number, number] {
  if (workgroups <= 65535) return [Math.max(1, workgroups), 1];
  return [65535, Math.ceil(workgroups / 65535)];
}
