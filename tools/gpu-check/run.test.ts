/**
 * run.sh's receiving side, on fake parts: parts arrive over several calls, are checked against
 * SHA256SUMS, and only a complete set is unpacked. The stages are skipped (no time budget), so
 * this needs no GPU, no real runtime and no network; it needs bash, xz, tar and sha256sum.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let repo: string;
let carry: string;
let packed: string;

/** A fake runtime: `.gpu/node/bin/node` is a script printing a version, split into 2 parts. */
function packRuntime(): void {
  const src = join(packed, 'src');
  mkdirSync(join(src, '.gpu/node/bin'), { recursive: true });
  writeFileSync(join(src, '.gpu/node/bin/node'), '#!/bin/sh\necho v20.0.0-fake\n');
  chmodSync(join(src, '.gpu/node/bin/node'), 0o755);
  // incompressible filler so that the archive splits into two parts
  writeFileSync(join(src, '.gpu/filler'), randomBytes(6000));
  execFileSync('bash', [
    '-c',
    `tar -cf - -C "${src}" .gpu | xz -0 | split -b 4000 -d -a 2 - "${packed}/runtime.tar.xz."`,
  ]);
  execFileSync('bash', ['-c', `cd "${packed}" && sha256sum -- *.xz.* > SHA256SUMS`]);
}

function carryOnly(...names: string[]): void {
  rmSync(carry, { recursive: true, force: true });
  mkdirSync(carry, { recursive: true });
  for (const n of names) copyFileSync(join(packed, n), join(carry, n));
}

function run(...args: string[]): string {
  const out = join(repo, 'out');
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync('bash', [join(repo, 'tools/gpu-check/run.sh'), ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GPU_CHECK_DEVICE: 'cpu', GPU_CHECK_BUDGET_S: '0', OUT: out },
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout + r.stderr;
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'gpu-check-test-'));
  mkdirSync(join(repo, 'tools/gpu-check'), { recursive: true });
  copyFileSync(join(import.meta.dirname, 'run.sh'), join(repo, 'tools/gpu-check/run.sh'));
  carry = join(repo, '.carry/gpu-check');
  packed = join(repo, 'packed');
  mkdirSync(packed);
  packRuntime();
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe('tools/gpu-check/run.sh', () => {
  it('keeps parts across calls and unpacks once the set is complete', () => {
    expect(existsSync(join(packed, 'runtime.tar.xz.01'))).toBe(true);
    carryOnly('SHA256SUMS', 'runtime.tar.xz.00');
    const first = run('--skip-cuda-ep');
    expect(first).toContain('missing runtime.tar.xz.01');
    expect(first).toContain('waiting for the runtime parts');
    expect(existsSync(join(repo, '.gpu/node/bin/node'))).toBe(false);

    carryOnly('runtime.tar.xz.01');
    const second = run('--skip-cuda-ep');
    expect(second).toContain('unpacking the runtime');
    expect(second).toContain('skip dawn-tests: the budget is spent');
    const env = readFileSync(join(repo, 'out/env.txt'), 'utf8');
    expect(env).toContain(`node: ${join(repo, '.gpu/node/bin/node')} v20.0.0-fake`);
    expect(env).toContain('cuda ep: not carried');
  });

  it('waits for the CUDA EP parts unless told to skip them', () => {
    carryOnly('SHA256SUMS', 'runtime.tar.xz.00', 'runtime.tar.xz.01');
    writeFileSync(
      join(carry, 'SHA256SUMS'),
      `${readFileSync(join(carry, 'SHA256SUMS'), 'utf8')}${'0'.repeat(64)}  cuda-ep.tar.xz.00\n`,
    );
    const out = run();
    expect(out).toContain('missing cuda-ep.tar.xz.00');
    expect(out).toContain('waiting for the CUDA EP parts');
  });

  it('drops a corrupt part and asks for it again', () => {
    carryOnly('SHA256SUMS', 'runtime.tar.xz.00', 'runtime.tar.xz.01');
    writeFileSync(join(carry, 'runtime.tar.xz.01'), 'not the part');
    const out = run('--skip-cuda-ep');
    expect(out).toContain('corrupt runtime.tar.xz.01 (checksum): carry it again');
    expect(out).toContain('waiting for the runtime parts');
    expect(existsSync(join(repo, '.gpu/parts/runtime.tar.xz.01'))).toBe(false);
  });
});
