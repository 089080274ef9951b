import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The fences of the architecture (docs/architecture.md#packages-and-layering): core imports no backend and no native library,
 * backends never import each other, only the CLI composes them.
 */
const root = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) specs.push(m[1]);
  return specs;
}

function violations(pkg: string, forbidden: RegExp): string[] {
  const bad: string[] = [];
  for (const f of sources(join(root, 'packages', pkg, 'src'))) {
    for (const s of imports(f)) {
      if (forbidden.test(s)) bad.push(`${relative(root, f)} imports ${s}`);
    }
  }
  return bad;
}

describe('layering', () => {
  it('core imports no backend, no native runtime and no CLI', () => {
    expect(
      violations(
        'core',
        /^(@oneshot-em\/(backend-|cli)|onnxruntime|webgpu)|packages\/(backend|cli)/,
      ),
    ).toEqual([]);
  });

  it('backends never import each other or the CLI', () => {
    expect(violations('backend-ort', /^(@oneshot-em\/(backend-dawn|cli)|webgpu)/)).toEqual([]);
    expect(violations('backend-dawn', /^(@oneshot-em\/(backend-ort|cli)|onnxruntime)/)).toEqual([]);
  });
});
