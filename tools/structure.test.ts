import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cycles,
  importGraph,
  lineCount,
  longFiles,
  relativeSpecifiers,
  sourceFiles,
} from './structure.js';

/**
 * The repository's shape (issue 16): in every package and tool, no source file (tests
 * included) over 500 lines and no import circle, type-only imports included.
 */
const root = join(import.meta.dirname, '..');
const MAX_LINES = 500;
const files = [...sourceFiles(join(root, 'packages')), ...sourceFiles(join(root, 'tools'))];

const scratch = mkdtempSync(join(tmpdir(), 'structure-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `tree` (path → text) under a fresh folder and returns its root. */
function tree(name: string, entries: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [p, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

describe('structure checks, on made-up trees', () => {
  it('the circle finder reports each circle once, and none in a chain', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(cycles(new Map([...graph, ['c', ['d']]]))).toEqual([]);
    expect(cycles(new Map([['s', ['s']]]))).toEqual([['s', 's']]);
  });

  it('reads every form of import, and none quoted in comments or strings', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B } from '../b.js';",
      "export * from './c.js';",
      "export type { D } from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "import { g } from '@oneshot-em/core';",
      "// import { x } from './comment.js';",
      "/* import './block.js' */ const glob = '**/*.test.ts', other = '**/x/**';",
      'const s = "import(\'./string.js\')";',
    ].join('\n');
    expect(relativeSpecifiers(text)).toEqual([
      './a.js',
      '../b.js',
      './c.js',
      './d.js',
      './e.js',
      './f.js',
    ]);
  });

  it('finds a type-only circle through .js specifiers, an index folder and an .mjs file', () => {
    const dir = tree('circle', {
      'src/a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
      'src/b.ts': "import { c } from './c';\nexport type B = number;\nc();\n",
      'src/c/index.ts': "export { a } from '../d.mjs';\nexport const c = () => 0;\n",
      'src/d.mjs': "import '../src/a.js';\nexport const a = 1;\n",
      'node_modules/x/index.ts': "import './index.js';\n",
    });
    const found = cycles(importGraph(sourceFiles(dir))).map((c) => c.map((f) => relative(dir, f)));
    expect(found).toEqual([['src/a.ts', 'src/b.ts', 'src/c/index.ts', 'src/d.mjs', 'src/a.ts']]);
  });

  it('counts lines as an editor does and finds every source kind over the limit', () => {
    expect(lineCount('')).toBe(0);
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(2);
    const long = 'x\n'.repeat(MAX_LINES + 1);
    const dir = tree('long', {
      'k.wgsl': long,
      'p.py': long,
      's.sh': long,
      'm.test.ts': long,
      'ok.ts': 'x\n'.repeat(MAX_LINES),
      'notes.md': long,
      'dist/built.js': long,
    });
    expect(longFiles(dir, sourceFiles(dir), MAX_LINES)).toEqual([
      { file: 'k.wgsl', lines: MAX_LINES + 1 },
      { file: 'm.test.ts', lines: MAX_LINES + 1 },
      { file: 'p.py', lines: MAX_LINES + 1 },
      { file: 's.sh', lines: MAX_LINES + 1 },
    ]);
  });
});

describe('the repository', () => {
  it('is read: every package and tool contributes sources of each kind', () => {
    for (const pkg of ['core', 'backend-ort', 'backend-dawn', 'cli'])
      expect(files.some((f) => f.startsWith(join(root, 'packages', pkg, 'src')))).toBe(true);
    for (const ext of ['.ts', '.mjs', '.wgsl', '.py', '.sh'])
      expect(files.some((f) => f.endsWith(ext))).toBe(true);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    expect(longFiles(root, files, MAX_LINES)).toEqual([]);
  });

  it('has no import circle among the source files of any package or tool', () => {
    const names = cycles(importGraph(files)).map((c) =>
      c.map((f) => relative(root, f)).join(' → '),
    );
    expect(names).toEqual([]);
  });
});
