import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineLock, type PackedPackage } from './offline-lock.js';

/**
 * What a user gets from npm: the four packages packed (`npm pack`), installed into an empty
 * folder offline (third-party packages from the npm cache at the workspace lockfile's versions,
 * see offline-lock.ts), and run there with plain Node: built JavaScript, .d.ts for TypeScript
 * users, the embedded model and the WGSL kernels found at run time.
 */
const root = join(import.meta.dirname, '..', '..');
const PACKAGES = [
  { name: '@oneshot-em/core', dir: 'packages/core', main: 'dist/index.js' },
  { name: '@oneshot-em/backend-ort', dir: 'packages/backend-ort', main: 'dist/index.js' },
  { name: '@oneshot-em/backend-dawn', dir: 'packages/backend-dawn', main: 'dist/index.js' },
  { name: '@oneshot-em/cli', dir: 'packages/cli', main: 'dist/main.js' },
];

const work = mkdtempSync(join(tmpdir(), 'oneshot-em-pack-'));
const tgz = join(work, 'tgz');
const app = join(work, 'app');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a user's shell: none of the workspace's npm settings or Node flags. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_|^NODE_OPTIONS$|^INIT_CWD$/i.test(k)) env[k] = v;
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: userEnv(), timeout: 240_000, ...opts });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${out}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}
let packed: PackResult[] = [];

beforeAll(() => {
  // the published build (nx caches it while the sources are unchanged); `npm pack` alone runs
  // the same build through each package's prepack script
  const projects = PACKAGES.map((p) => p.dir.split('/')[1]).join(',');
  run('npx', ['nx', 'run-many', '-t', 'build', '-p', projects, '--outputStyle=static'], {
    cwd: root,
  });
  mkdirSync(tgz);
  const workspaces = PACKAGES.flatMap((p) => ['-w', p.dir]);
  const r = run(
    'npm',
    ['pack', ...workspaces, '--pack-destination', tgz, '--ignore-scripts', '--json'],
    { cwd: root },
  );
  packed = JSON.parse(r.stdout) as PackResult[];
}, 300_000);

const filesOf = (name: string) =>
  new Set(packed.find((p) => p.name === name)?.files.map((f) => f.path) ?? []);

/** Every file under `dir` (relative to it) whose name matches. */
function walk(dir: string, match: RegExp, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? walk(join(dir, e.name), match, base)
      : match.test(e.name)
        ? [relative(base, join(dir, e.name))]
        : [],
  );
}

describe('npm pack', () => {
  it('each tarball has built JS and .d.ts for every export, and no TypeScript sources or tests', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => p.name).sort());
    for (const p of PACKAGES) {
      const files = filesOf(p.name);
      const manifest = JSON.parse(readFileSync(join(root, p.dir, 'package.json'), 'utf8'));
      expect(files.has(p.main), `${p.name}: ${p.main}`).toBe(true);
      for (const [sub, target] of Object.entries(
        manifest.exports as Record<string, Record<string, string>>,
      )) {
        // only our own condition may name a file the tarball lacks (the sources): one that
        // bundlers or test runners set by default ("development", "source") would break a user
        const missing = Object.entries(target).filter(
          ([, f]) => !files.has(f.replace(/^\.\//, '')),
        );
        expect(
          missing.map(([c]) => c),
          `${p.name} ${sub}`,
        ).toEqual(['oneshot-em-source']);
        for (const cond of ['types', 'default'])
          expect(files.has(target[cond].replace(/^\.\//, '')), `${p.name} ${sub} ${cond}`).toBe(
            true,
          );
      }
      const stray = [...files].filter(
        (f) =>
          f.startsWith('src/') ||
          /\.test\.|(^|\/)test\//.test(f) ||
          /\.ts$/.test(f.replace(/\.d\.ts$/, '')),
      );
      expect(stray, p.name).toEqual([]);
    }
  });

  it('non-TypeScript assets are in the tarballs: the embedded model, eval data, every WGSL kernel, the bin', () => {
    const core = filesOf('@oneshot-em/core');
    for (const f of walk(join(root, 'packages/core/assets'), /./))
      expect(core.has(`assets/${f}`), `core assets/${f}`).toBe(true);
    const dawn = filesOf('@oneshot-em/backend-dawn');
    const wgsl = walk(join(root, 'packages/backend-dawn/src'), /\.wgsl$/);
    expect(wgsl.length).toBeGreaterThan(10);
    for (const f of wgsl) expect(dawn.has(`dist/${f}`), `dawn dist/${f}`).toBe(true);
    expect(filesOf('@oneshot-em/cli').has('bin/oneshot-em.mjs')).toBe(true);
  });
});

describe('installed from the tarballs into an empty folder, offline', () => {
  beforeAll(() => {
    mkdirSync(app);
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    const tarballs: PackedPackage[] = PACKAGES.map((p) => ({
      name: p.name,
      dir: p.dir,
      tarball: `../tgz/${packed.find((x) => x.name === p.name)!.filename}`,
    }));
    const { lock: appLock, packageJson } = offlineLock(lock, tarballs);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(appLock, null, 2)}\n`);
    run(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund', ...tarballs.map((t) => t.tarball)],
      { cwd: app },
    );
  }, 300_000);

  it('npx oneshot-em train --steps 1 runs the built CLI on ORT with the embedded model', () => {
    const r = run('npx', ['oneshot-em', 'train', '--steps', '1', '--out', 'runs/t'], { cwd: app });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/step 1\/1 loss \d/);
    expect(out).toContain('saved runs/t/final');
    expect(readdirSync(join(app, 'runs/t/final'))).toContain('model.safetensors');
    // the installed packages are JavaScript only: nothing ran from TypeScript
    expect(
      walk(join(app, 'node_modules/@oneshot-em'), /\.ts$/).filter(
        (f) => !f.endsWith('.d.ts') && !f.includes('node_modules/'),
      ),
    ).toEqual([]);
  });

  it('doctor finds both backends through the registry (Dawn reads its installed WGSL at load)', () => {
    const r = run('npx', ['oneshot-em', 'doctor', '--json'], { cwd: app });
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean }[];
    expect(checks.find((c) => c.name === 'ORT backend')?.ok).toBe(true);
    expect(checks.some((c) => /^Dawn adapter \d+$/.test(c.name) && c.ok)).toBe(true);
  });

  it("a TypeScript user's imports type-check against the published .d.ts", () => {
    writeFileSync(
      join(app, 'use.ts'),
      [
        "import { type Backend, type BackendPlugin, parseModelConfig } from '@oneshot-em/core';",
        "import { loadBackendPlugin } from '@oneshot-em/core/node';",
        "import { plugin } from '@oneshot-em/backend-ort';",
        'const p: BackendPlugin = plugin;',
        '// @ts-expect-error: a string is no number (fails as unused if the types were lost to any)',
        'export const wrong: number = plugin.name;',
        "export const b: Promise<Backend> = loadBackendPlugin('ort').then((x) => x.create({}));",
        'export { p, parseModelConfig };',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          // as most projects do: onnx-proto's own .d.ts does not check on its own
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['use.ts'],
      }),
    );
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });
  });
});

describe('the ./oneshot-em wrapper', () => {
  it('works from any directory', () => {
    // (the set-up check ran when the suite started; here it could only reinstall)
    const r = run(join(root, 'oneshot-em'), ['--version'], {
      cwd: tmpdir(),
      env: { ...userEnv(), ONESHOT_EM_SKIP_SETUP: '1' },
    });
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
