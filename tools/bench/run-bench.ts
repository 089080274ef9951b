import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './report.js';

const root = join(import.meta.dirname, '..', '..');

export interface BenchRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `tools/bench/bench.ts ARGS` in a child process, as a user runs it (the tests' entry). */
export function runBench(args: string[], timeout = 60_000): BenchRun {
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'tools/bench/bench.ts'), ...args],
    { encoding: 'utf8', timeout },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same with `--json` into a temporary file: the run and its report (undefined on failure). */
export function runBenchReport(
  args: string[],
  timeout = 60_000,
): BenchRun & { report?: BenchReport } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  try {
    const json = join(dir, 'out.json');
    const r = runBench([...args, '--json', json], timeout);
    if (r.status !== 0) return r;
    return { ...r, report: JSON.parse(readFileSync(json, 'utf8')) as BenchReport };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
