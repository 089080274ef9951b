import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '..', 'main.ts');

/** `oneshot-em doctor --json` with XDG_RUNTIME_DIR as `xdg` (undefined: not in the environment, as under npx). */
function doctor(xdg: string | undefined) {
  const env = { ...process.env };
  delete env.XDG_RUNTIME_DIR;
  if (xdg !== undefined) env.XDG_RUNTIME_DIR = xdg;
  const r = spawnSync(
    process.execPath,
    ['--conditions=oneshot-em-source', '--import', 'tsx', main, 'doctor', '--json'],
    {
      encoding: 'utf8',
      env,
      timeout: 300_000,
    },
  );
  const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; detail: string }[];
  return { checks, xdg: checks.find((c) => c.name === 'XDG_RUNTIME_DIR'), stderr: r.stderr };
}

describe.runIf(process.platform === 'linux')('doctor: XDG_RUNTIME_DIR', () => {
  it('unset in the environment (npx): no ✗; the CLI sets a private one and says so', () => {
    const { xdg, checks } = doctor(undefined);
    expect(xdg?.ok).toBe(true);
    const dir = xdg?.detail.split(' ')[0] ?? '';
    expect(xdg?.detail).toContain('oneshot-em sets it for itself');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // and Dawn ran with it: its adapters are listed
    expect(checks.some((c) => c.name.startsWith('Dawn adapter') && c.ok)).toBe(true);
  });

  it('set: reported as it is', () => {
    const dir = process.env.XDG_RUNTIME_DIR ?? '/tmp';
    const { xdg } = doctor(dir);
    expect(xdg).toMatchObject({ ok: true, detail: dir });
  });
});
