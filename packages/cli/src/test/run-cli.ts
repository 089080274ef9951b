import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = join(import.meta.dirname, '..', 'main.ts');
// the workspace packages from their sources, as under vitest (see the packages' exports)
const NODE_ARGS = ['--conditions=development', '--import', 'tsx'];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `oneshot-em ARGS` in a child process, as a user would. */
export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `oneshot-em ARGS` without waiting (for kill tests). */
export function startCli(args: string[]) {
  return spawn(process.execPath, [...NODE_ARGS, main, ...args], { stdio: 'pipe' });
}

export const tmp = (prefix = 'oneshot-cli-') => mkdtempSync(join(tmpdir(), prefix));

/** Every backend the CLI offers; CI runs each (Dawn on lavapipe, ORT on its CPU EP). */
export const BACKENDS = ['ort', 'dawn'] as const;
