import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveObjective } from './resolve-objective.js';

// a plugin module that needs nothing but zod (by absolute URL: the temp dirs have no node_modules)
const zod = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href.replace(
  /index\.cjs$/,
  'index.js',
);
const plugin = (name: string) => `import { z } from ${JSON.stringify(zod)};
export default {
  name: '${name}', description: 'a test plugin', params: z.object({ k: z.number().default(1) }),
  stats: () => ({ temperature: 1, stats: ['lse'] }),
  loss: (ctx) => ctx.ops.neg(ctx.ops.maskedMean(ctx.stat('lse'), ctx.completionMask('reference'))),
};
`;

function writePackage(dir: string, pkg: Record<string, unknown>, files: Record<string, string>) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', ...pkg }));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
}

const root = mkdtempSync(join(tmpdir(), 'objective-dirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--objective DIR: a package directory through its package.json', () => {
  const plugins = join(root, 'plugins');
  // exports with conditions: the sources ("development") where there is no build
  writePackage(
    join(plugins, 'by-exports'),
    {
      name: 'by-exports',
      exports: { '.': { development: './src/index.js', default: './dist/index.js' } },
    },
    { 'src/index.js': plugin('by-exports') },
  );
  writePackage(
    join(plugins, 'by-main'),
    { name: 'by-main', main: 'lib/main.js' },
    { 'lib/main.js': plugin('by-main') },
  );
  writePackage(
    join(plugins, 'built'),
    { name: 'built', exports: { '.': { development: './src/gone.js', import: './dist/x.js' } } },
    { 'dist/x.js': plugin('built') },
  );
  const elsewhere = join(root, 'elsewhere', 'deeper');
  mkdirSync(elsewhere, { recursive: true });

  it('resolves exports (development first, else what is shipped) and main, with parameters', async () => {
    const a = await resolveObjective('./by-exports:k=3', { cwd: plugins });
    expect([a.objective.name, a.params, a.origin]).toEqual([
      'by-exports',
      { k: 3 },
      join(plugins, 'by-exports', 'src', 'index.js'),
    ]);
    expect((await resolveObjective('./by-main', { cwd: plugins })).objective.name).toBe('by-main');
    expect((await resolveObjective('./built', { cwd: plugins })).objective.name).toBe('built');
  });

  it('a relative path works from any cwd; an absolute one from anywhere', async () => {
    const r = await resolveObjective('../../plugins/by-main', { cwd: elsewhere });
    expect(r.objective.name).toBe('by-main');
    const abs = await resolveObjective(join(plugins, 'by-exports'), { cwd: tmpdir() });
    expect(abs.objective.name).toBe('by-exports');
  });

  it('a directory without package.json, or with a missing entry, says what is wrong', async () => {
    await expect(resolveObjective('./elsewhere', { cwd: root })).rejects.toThrow(
      `${join(root, 'elsewhere')}: a directory without package.json`,
    );
    writePackage(join(plugins, 'unbuilt'), { name: 'unbuilt', exports: './dist/index.js' }, {});
    await expect(resolveObjective('./unbuilt', { cwd: plugins })).rejects.toThrow(
      /unbuilt[/\\]package\.json: its entry point .*dist[/\\]index\.js does not exist \(build the package first\)/,
    );
  });
});

describe('a workspace package is usable by name before npm install links it', () => {
  const ws = join(root, 'ws');
  writePackage(ws, { name: 'ws-root', private: true, workspaces: ['packages/*', 'tools'] }, {});
  writePackage(
    join(ws, 'packages', 'objective-fresh'),
    { name: '@demo/objective-fresh', exports: { '.': './src/index.js' } },
    { 'src/index.js': plugin('fresh') },
  );
  writePackage(join(ws, 'tools'), { name: '@demo/tools' }, {});

  it('from the workspace root and from a folder inside it', async () => {
    for (const cwd of [ws, join(ws, 'tools')]) {
      const r = await resolveObjective('@demo/objective-fresh:k=2', { cwd });
      expect([r.objective.name, r.params, r.origin]).toEqual([
        'fresh',
        { k: 2 },
        '@demo/objective-fresh',
      ]);
    }
  });

  it('a name that is in no workspace package is still an unknown objective', async () => {
    await expect(resolveObjective('@demo/objective-none', { cwd: ws })).rejects.toThrow(
      /unknown objective '@demo\/objective-none' \(no built-in and no package of that name/,
    );
  });
});
