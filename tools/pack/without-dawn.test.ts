import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Backends are plug-ins: a workspace with packages/backend-dawn deleted (core, backend-ort and
 * cli copied into an empty folder, third-party packages linked from this workspace) type-checks,
 * trains on ORT, and `--backend dawn` names the package to install.
 */
const root = join(import.meta.dirname, '..', '..');
const KEPT = ['core', 'backend-ort', 'cli'];
const work = mkdtempSync(join(tmpdir(), 'oneshot-em-no-dawn-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  for (const p of KEPT)
    cpSync(join(root, 'packages', p), join(work, 'packages', p), {
      recursive: true,
      filter: (src) => !/\/(node_modules|dist)$/.test(src),
    });
  cpSync(join(root, 'tsconfig.base.json'), join(work, 'tsconfig.base.json'));
  // backend-ort's own nested packages (onnxruntime-node), then the hoisted ones minus ours
  symlinkSync(
    join(root, 'packages/backend-ort/node_modules'),
    join(work, 'packages/backend-ort/node_modules'),
  );
  mkdirSync(join(work, 'node_modules/@oneshot-em'), { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules')))
    if (name !== '@oneshot-em' && name !== '.bin')
      symlinkSync(join(root, 'node_modules', name), join(work, 'node_modules', name));
  for (const p of KEPT)
    symlinkSync(join(work, 'packages', p), join(work, 'node_modules/@oneshot-em', p));
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      extends: './tsconfig.base.json',
      compilerOptions: { noEmit: true },
      include: KEPT.map((p) => `packages/${p}/src/**/*.ts`),
    }),
  );
});

/** The CLI from the copied sources, as `./oneshot-em` runs it, with no workspace settings. */
function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_|^NODE_OPTIONS$/i.test(k)) delete env[k];
  return spawnSync(
    process.execPath,
    [
      '--conditions=oneshot-em-source',
      '--import',
      'tsx',
      join(work, 'packages/cli/src/main.ts'),
      ...args,
    ],
    { cwd: work, encoding: 'utf8', env, timeout: 120_000 },
  );
}

describe('without packages/backend-dawn', () => {
  it('core, backend-ort and cli type-check (tests included)', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', work],
      {
        cwd: work,
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  }, 300_000);

  it('train --backend ort --steps 1 works on the embedded model', () => {
    const r = cli(['train', '--backend', 'ort', '--steps', '1', '--out', join(work, 'runs/ort')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/step 1\/1 loss \d/);
  });

  it('--backend dawn names the missing package and how to install it (usage error, exit 2)', () => {
    const r = cli(['train', '--backend', 'dawn', '--steps', '1', '--out', join(work, 'runs/dawn')]);
    expect(r.stderr).toContain(
      '--backend dawn needs the package @oneshot-em/backend-dawn, which is not installed; ' +
        'install it with: npm install @oneshot-em/backend-dawn',
    );
    expect(r.status).toBe(2);
  });

  it('doctor lists the missing backend as one optional line with the install command', () => {
    const r = cli(['doctor', '--json']);
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; fix?: string }[];
    expect(checks.find((c) => c.name === 'backend dawn')).toMatchObject({
      ok: false,
      optional: true,
      fix: 'npm install @oneshot-em/backend-dawn',
    });
    expect(checks.find((c) => c.name === 'ORT backend')?.ok).toBe(true);
  });
});
