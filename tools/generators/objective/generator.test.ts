import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { objectiveGenerator } from './generator.js';
import { root, scaffoldInWorkspace } from './scaffold-workspace.js';

const tools = join(import.meta.dirname, '..', '..');

describe('nx g @oneshot-em/tools:objective', () => {
  it('is registered where Nx looks: tools/package.json → generators.json → factory and schema', async () => {
    const pkg = JSON.parse(readFileSync(join(tools, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@oneshot-em/tools');
    const collection = JSON.parse(readFileSync(join(tools, pkg.generators), 'utf8'));
    const entry = collection.generators.objective;
    expect(existsSync(join(tools, entry.schema))).toBe(true);
    const factory = await import(join(tools, entry.factory));
    expect(factory.default).toBe(objectiveGenerator);
  });

  it('scaffolds packages/objective-<name> with a package Nx infers a test target for', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await objectiveGenerator(tree, { name: 'renyi-demo' });
    const dir = 'packages/objective-renyi-demo';
    for (const file of [
      'package.json',
      'tsconfig.json',
      'vitest.config.ts',
      'README.md',
      'src/index.ts',
      'src/index.test.ts',
    ]) {
      expect(tree.exists(`${dir}/${file}`), file).toBe(true);
    }
    const pkg = JSON.parse(tree.read(`${dir}/package.json`, 'utf8') as string);
    expect(pkg.name).toBe('@oneshot-em/objective-renyi-demo');
    expect(pkg.nx.name).toBe('objective-renyi-demo');
    expect(pkg.scripts.test).toBe('vitest run');
    expect(tree.read(`${dir}/src/index.ts`, 'utf8')).toContain("name: 'renyi-demo'");
    expect(JSON.parse(tree.read(`${dir}/tsconfig.json`, 'utf8') as string).extends).toBe(
      '../../tsconfig.base.json',
    );
  });

  it('rejects a name that is not kebab-case and an existing package', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(objectiveGenerator(tree, { name: 'Renyi Demo' })).rejects.toThrow(
      /expected kebab-case/,
    );
    await objectiveGenerator(tree, { name: 'twice' });
    await expect(objectiveGenerator(tree, { name: 'twice' })).rejects.toThrow(
      /objective-twice already exists/,
    );
  });

  const workspace = mkdtempSync(join(tmpdir(), 'objective-generator-'));
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it("the scaffolded package's own test passes (vitest, in a copy of the workspace layout)", async () => {
    await scaffoldInWorkspace('fresh', workspace);
    const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: join(workspace, 'packages/objective-fresh'),
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 180_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/Tests\s+4 passed/);
  });
});
