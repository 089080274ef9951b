import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, scaffoldInWorkspace } from './scaffold-workspace.js';

const cliMain = join(root, 'packages', 'cli', 'src', 'main.ts');

/** `oneshot-em train` for one tiny step with `objective`, run from `cwd` as a user would. */
function trainWith(objective: string, cwd: string, out: string) {
  const r = spawnSync(
    process.execPath,
    [
      // the workspace's packages from their sources, as ./oneshot-em and the CLI tests run them
      '--conditions=oneshot-em-source',
      '--import',
      'tsx',
      cliMain,
      'train',
      '--backend',
      'reference',
      '--objective',
      objective,
      '--steps',
      '1',
      '--effective-batch',
      '2',
      '--micro-batch',
      '2',
      '--max-new-tokens',
      '8',
      '--out',
      out,
    ],
    { cwd, encoding: 'utf8', timeout: 300_000 },
  );
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('a scaffolded objective plugin is usable at once (no npm install in between)', () => {
  // a copy of the workspace layout: root package.json with workspaces, the shared node_modules
  // (which has never heard of the new package)
  const workspace = mkdtempSync(join(tmpdir(), 'objective-by-name-'));
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it('by package name, by directory (relative, from another folder) and by file', async () => {
    await scaffoldInWorkspace('fresh-demo', workspace);
    writeFileSync(
      join(workspace, 'package.json'),
      JSON.stringify({ name: 'ws', private: true, type: 'module', workspaces: ['packages/*'] }),
    );
    const other = join(workspace, 'packages', 'other');
    mkdirSync(other, { recursive: true });

    for (const [objective, cwd] of [
      ['@oneshot-em/objective-fresh-demo:temperature=0.7', workspace],
      ['@oneshot-em/objective-fresh-demo', other],
      ['./packages/objective-fresh-demo', workspace],
      ['../objective-fresh-demo:temperature=0.6', other],
      ['../objective-fresh-demo/src/index.ts', other],
    ] as const) {
      const r = trainWith(objective, cwd, join(workspace, 'runs', String(Math.random())));
      expect(r.status, `${objective} from ${cwd}\n${r.output}`).toBe(0);
      expect(r.output).toContain('objective fresh-demo');
    }
  });
});
