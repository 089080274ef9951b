import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The package's own shape (issue 16): no import circles, type-only ones included; short files. */
const root = import.meta.dirname;

const sources = (readdirSync(root, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(root, f));

/** Relative imports of a file (`import`, `import type`, `export … from`), resolved to files. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g))
    out.push(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
  return out;
}

/** One import circle per strongly connected file set met by a depth-first walk. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    path.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push(path.slice(path.indexOf(g)).concat(g));
      else if (!state.has(g) && graph.has(g)) visit(g);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('backend-ort layout', () => {
  it('the circle finder finds a circle, a type-only import included', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(cycles(new Map([...graph, ['c', ['d']]]))).toEqual([]);
    // generate.ts imports the Tracer as a type only; the walk still sees the edge
    expect(localImports(join(root, 'generate.ts'))).toContain(join(root, 'tracer.ts'));
  });

  it('has no import circles among its source files', () => {
    const graph = new Map(sources.map((f) => [f, localImports(f)]));
    const names = cycles(graph).map((c) => c.map((f) => relative(root, f)).join(' → '));
    expect(names).toEqual([]);
  });

  it('has no source file over 500 lines', () => {
    const long = sources
      .filter((f) => !f.endsWith('.test.ts'))
      .map((f) => ({ f: relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.lines > 500);
    expect(long).toEqual([]);
  });
});
