/**
 * Kernel interfaces are declared once, in the TS descriptors (kernel.ts KernelInterface), and
 * generated into the WGSL: no .wgsl file declares its own Params struct or bindings, and every
 * registered kernel's source declares exactly its descriptor's uniform fields and bindings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kernels } from './index.js';
import { wgslInterface, withInterface } from './kernel.js';
import { matmulGemv4ByDtype, matmulGemvByDtype, matmulTile128ByDtype } from './matmul/matmul.js';
import { matmulSubgroupMatrix } from './matmul/subgroup-matrix.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wgslFiles = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? wgslFiles(join(d, e.name))
      : e.name.endsWith('.wgsl')
        ? [join(d, e.name)]
        : [],
  );

describe('kernel interfaces, defined once', () => {
  it('no .wgsl file declares a Params struct or a binding', () => {
    const files = wgslFiles(dir);
    expect(files.length).toBeGreaterThan(20);
    const bad = files.filter((f) =>
      /struct\s+Params\b|@binding\s*\(/.test(readFileSync(f, 'utf8')),
    );
    expect(bad).toEqual([]);
  });

  const all = [
    ...Object.values(kernels).flatMap((f) => Object.values(f)),
    ...(['f32', 'bf16', 'f16'] as const).flatMap((d) => [
      ...Object.values(matmulGemvByDtype[d]),
      ...Object.values(matmulGemv4ByDtype[d]),
      ...Object.values(matmulTile128ByDtype[d]),
      matmulSubgroupMatrix({ m: 16, n: 16, k: 16, subgroupMaxSize: 32 }, d),
    ]),
  ];

  it('every kernel source declares its descriptor’s uniform fields and bindings, once', () => {
    for (const k of all) {
      const what = `${k.family}/${k.entry}`;
      const structs = [...k.source.matchAll(/struct Params \{([^}]*)\}/g)];
      expect(structs, what).toHaveLength(1);
      const fields = [...structs[0][1].matchAll(/(\w+): (\w+),/g)].map((m) => [m[1], m[2]]);
      expect(fields, what).toEqual(k.params.map(([n, t]) => [n, t]));
      const declared = new Map(
        [...k.source.matchAll(/@binding\((\d+)\) var<[^>]*> (\w+):/g)].map((m) => [m[2], +m[1]]),
      );
      expect(declared.get('p'), what).toBe(0);
      for (const [name, index] of Object.entries(k.bindings))
        expect(declared.get(name), `${what} binding ${name}`).toBe(index);
      const indices = [...declared.values()];
      expect(new Set(indices).size, `${what}: one variable per binding`).toBe(indices.length);
    }
  });

  it('enable directives stay in front of the generated declarations', () => {
    const iface = {
      params: [['n', 'u32']] as const,
      bindings: { out: [1, 'read_write', 'f16'] as const },
    };
    const src = withInterface('enable f16;\nfn f() {}\nenable subgroups;', iface);
    expect(src.split('\n').slice(0, 2)).toEqual(['enable f16;', 'enable subgroups;']);
    expect(src).toContain(wgslInterface(iface));
    expect(wgslInterface(iface)).toBe(
      [
        'struct Params {',
        '  n: u32,',
        '}',
        '@group(0) @binding(0) var<uniform> p: Params;',
        '@group(0) @binding(1) var<storage, read_write> out: array<f16>;',
      ].join('\n'),
    );
  });
});
