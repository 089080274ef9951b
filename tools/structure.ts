import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The shape every package and tool keeps (issue 16): short source files and no import circles
 * among them, type-only imports included (a circle of types still couples the files' meanings).
 */

/** What counts as source: code and build scripts, tests included. */
export const SOURCE = /\.(ts|mts|js|mjs|cjs|wgsl|py|sh)$/;

/** Folders that hold no sources of ours (the ones .gitignore names, and dot folders). */
const SKIP = /^(node_modules|dist|out|runs|\..*)$/;

/** Every source file below `dir`, as absolute paths, in a stable order. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (e.isDirectory()) {
        if (!SKIP.test(e.name)) walk(join(d, e.name));
      } else if (e.isFile() && SOURCE.test(e.name)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** The number of lines of a text, a final newline not counting as the start of one more. */
export function lineCount(text: string): number {
  return text.length === 0 ? 0 : text.replace(/\n$/, '').split('\n').length;
}

/** Source files longer than `max` lines, with their lengths. */
export function longFiles(root: string, files: readonly string[], max: number) {
  return files
    .map((f) => ({ file: relative(root, f), lines: lineCount(readFileSync(f, 'utf8')) }))
    .filter((x) => x.lines > max);
}

/**
 * Relative module specifiers of a TypeScript/JavaScript text: `import`, `import type`,
 * `export … from`, side-effect and dynamic imports, `require` — as TypeScript's own scanner
 * reads them, so that comments, strings and templates that quote an import are no edge.
 */
export function relativeSpecifiers(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/**
 * The file a specifier names, among `known` files: as written, `.js` meaning its `.ts` source
 * (NodeNext style), or with no extension a `.ts` file or a folder's index.
 */
export function resolveSpecifier(
  from: string,
  spec: string,
  known: ReadonlySet<string>,
): string | undefined {
  const p = resolve(dirname(from), spec);
  const candidates = [
    p,
    p.replace(/\.js$/, '.ts'),
    p.replace(/\.mjs$/, '.mts'),
    `${p}.ts`,
    join(p, 'index.ts'),
  ];
  return candidates.find((c) => known.has(c));
}

/** The import graph of the TypeScript/JavaScript files among `files`: file → files it imports. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    if (!/\.(ts|mts|js|mjs|cjs)$/.test(f)) continue;
    const targets = relativeSpecifiers(readFileSync(f, 'utf8'))
      .map((s) => resolveSpecifier(f, s, known))
      .filter((t): t is string => t !== undefined);
    graph.set(f, [...new Set(targets)]);
  }
  return graph;
}

/** One circle per back edge a depth-first walk meets, each as its path ending where it began. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
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
