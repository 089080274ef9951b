import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md stays true to the code: its primitive map names files that exist and
 * covers every method of TensorOps, its other paths exist, and every link into it from code,
 * READMEs and docs names one of its headings.
 */
const root = join(import.meta.dirname, '..');
const DOC = 'docs/architecture.md';
const doc = readFileSync(join(root, DOC), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const anchors = new Set(
  [...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1].replace(/`/g, ''))),
);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|mts|js|wgsl|md|sh|py|tmpl__)$/.test(name)) out.push(p);
  }
  return out;
}

const repoFiles = [
  ...files(join(root, 'packages')),
  ...files(join(root, 'tools')),
  ...files(join(root, 'docs')),
  join(root, 'README.md'),
];

/** The method names of an interface in packages/core/src/backend/*.ts. */
function interfaceMembers(file: string, name: string): string[] {
  const text = readFileSync(join(root, 'packages/core/src/backend', file), 'utf8');
  const start = text.indexOf(`export interface ${name}`);
  if (start < 0) throw new Error(`${file}: no interface ${name}`);
  const body = text.slice(start, text.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}(?:readonly )?([a-zA-Z]+)\??[(:]/gm)].map((m) => m[1]);
}

interface MapRow {
  primitive: string;
  methods: string[];
  paths: { column: string; path: string }[];
}

const COLUMN_ROOTS: Record<number, string> = {
  3: 'packages/core/src',
  4: 'packages/backend-ort/src',
  5: 'packages/backend-dawn/src',
};

function primitiveMap(): MapRow[] {
  const section = doc.slice(
    doc.indexOf('## Primitive map'),
    doc.indexOf('\n## ', doc.indexOf('## Primitive map') + 1),
  );
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));
  const [header, ...body] = rows;
  expect(header).toContain(
    '| primitive | forward | backward | CPU reference | ORT lowering | WGSL kernel |',
  );
  return body.map((line) => {
    const cells = line.split('|').slice(1, -1);
    const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const paths: MapRow['paths'] = [];
    for (const [i, base] of Object.entries(COLUMN_ROOTS)) {
      for (const p of ticked(cells[Number(i)])) {
        // "core's `train/host-optimizer/`" in the ORT column names a core folder
        const dir = cells[Number(i)].includes(`core's \`${p}\``) ? 'packages/core/src' : base;
        paths.push({ column: base, path: `${dir}/${p}` });
      }
    }
    return {
      primitive: cells[0].trim(),
      methods: [...ticked(cells[1]), ...ticked(cells[2])],
      paths,
    };
  });
}

describe('docs/architecture.md', () => {
  it('the primitive map names files that exist', () => {
    const missing = primitiveMap().flatMap((r) =>
      r.paths
        .filter((p) => !existsSync(join(root, p.path)))
        .map((p) => `${r.primitive}: ${p.path}`),
    );
    expect(missing, `${DOC}: paths in the primitive map that do not exist`).toEqual([]);
  });

  it('the primitive map lists every TensorOps method, and nothing that is not a Backend member', () => {
    const ops = interfaceMembers('tensor-ops.ts', 'TensorOps');
    const backend = interfaceMembers('backend.ts', 'Backend');
    expect(ops.length).toBeGreaterThan(20);
    const listed = new Set(primitiveMap().flatMap((r) => r.methods));
    expect(
      ops.filter((m) => !listed.has(m)),
      `${DOC}: TensorOps methods missing from the map`,
    ).toEqual([]);
    const known = new Set([...ops, ...backend]);
    expect(
      [...listed].filter((m) => !known.has(m)),
      `${DOC}: unknown methods in the map`,
    ).toEqual([]);
  });

  it('every repository path it names exists', () => {
    const named = [...doc.matchAll(/`((?:packages|tools|docs)\/[^`\s#]+)(?:#[^`]*)?`/g)].map(
      (m) => m[1],
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('every link into it names one of its headings', () => {
    const broken: string[] = [];
    for (const f of repoFiles) {
      const text = readFileSync(f, 'utf8');
      const inDoc = relative(root, f) === DOC;
      const re = inDoc ? /\]\(#([a-z0-9-]+)\)/g : /architecture\.md#([a-z0-9-]+)/g;
      for (const m of text.matchAll(re)) {
        if (!anchors.has(m[1])) broken.push(`${relative(root, f)}: #${m[1]}`);
      }
    }
    expect(broken, `links to headings that ${DOC} does not have`).toEqual([]);
  });

  it('nothing cites the old design document by section number', () => {
    const cites = repoFiles
      .filter((f) => !f.endsWith('architecture-doc.test.ts'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((l, i) => (/design §\d/.test(l) ? [`${relative(root, f)}:${i + 1}`] : [])),
      );
    expect(cites, `cite a section of ${DOC} instead`).toEqual([]);
  });
});
