/**
 * run.sh on fake parts: parts arrive over several calls and are staged outside the working tree
 * (which the device tool may lay anew), are checked against SHA256SUMS, and each complete set is
 * unpacked; the stages run in order, once each, those that need a missing set wait for it; the
 * GL dispatch libraries are installed and the driver's ICD is used on a GPU machine. The "node"
 * in the fake dawn set is a script that logs its arguments and writes the JSON it is asked for,
 * and dpkg/ldconfig are fakes too, so this needs no GPU, no runtime, no network and never
 * writes outside its temporary folder; it needs bash, xz, tar and sha256sum.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let tmp: string;
let repo: string;
let carry: string;
let packed: string;
let stage: string;
let fakeBin: string;

const FAKE_NODE = `#!/bin/sh
echo "node $*" >>"$FAKE_LOG"
[ "$1" = --version ] && echo v20.0.0-fake
for a in "$@"; do
  case "$a" in
    --outputFile.json=*) echo '{"fake":true}' >"\${a#--outputFile.json=}" ;;
    *.json) [ -d "$(dirname "$a")" ] && echo '{"fake":true}' >"$a" ;;
  esac
done
exit 0
`;

/** A set `<name>.tar.xz.NN` of `files` (path → content), split into parts of 4000 bytes. */
function packSet(name: string, files: Record<string, string | Buffer>, mode = 0o644): void {
  const src = join(packed, `src-${name}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(src, path, '..'), { recursive: true });
    writeFileSync(join(src, path), content);
    chmodSync(join(src, path), path.endsWith('/node') ? 0o755 : mode);
  }
  execFileSync('bash', [
    '-c',
    `tar -cf - -C "${src}" . | xz -0 | split -b 4000 -d -a 2 - "${packed}/${name}.tar.xz."`,
  ]);
}

function sums(): void {
  execFileSync('bash', ['-c', `cd "${packed}" && sha256sum -- *.xz.* > SHA256SUMS`]);
}

function carryOnly(...names: string[]): void {
  rmSync(carry, { recursive: true, force: true });
  mkdirSync(carry, { recursive: true });
  for (const n of names) copyFileSync(join(packed, n), join(carry, n));
}

function run(env: Record<string, string> = {}, ...args: string[]): string {
  const out = join(tmp, 'out');
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync('bash', [join(repo, 'tools/gpu-check/run.sh'), ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      GPU_CHECK_DEVICE: 'cpu',
      GPU_CHECK_BUDGET_S: '0',
      GPU_CHECK_STAGE: stage,
      GPU_CHECK_NVIDIA_DIR: join(tmp, 'nvidia'),
      FAKE_LOG: join(tmp, 'calls.log'),
      OUT: out,
      ...env,
    },
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout + r.stderr;
}

const stages = () =>
  readFileSync(join(tmp, 'out/stages.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { stage: string; rc: number | null; skipped?: string });

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'gpu-check-test-'));
  repo = join(tmp, 'repo');
  mkdirSync(join(repo, 'tools/gpu-check'), { recursive: true });
  copyFileSync(join(import.meta.dirname, 'run.sh'), join(repo, 'tools/gpu-check/run.sh'));
  carry = join(repo, '.carry/gpu-check');
  packed = join(tmp, 'packed');
  stage = join(tmp, 'stage');
  fakeBin = join(tmp, 'bin');
  mkdirSync(packed);
  mkdirSync(fakeBin);
  // incompressible filler so that the dawn set splits into two parts
  packSet('dawn', {
    '.gpu/node/bin/node': FAKE_NODE,
    '.gpu/filler': randomBytes(6000),
    '.gpu/debs/libglvnd0_fake.deb': 'deb',
    '.gpu/debs/libvulkan1_fake.deb': 'deb',
  });
  packSet('ort', {
    'packages/backend-ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node':
      'binding',
  });
  sums();
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('tools/gpu-check/run.sh', () => {
  it('stages parts outside the tree across calls and unpacks a set once it is complete', () => {
    expect(existsSync(join(packed, 'dawn.tar.xz.01'))).toBe(true);
    carryOnly('SHA256SUMS', 'dawn.tar.xz.00');
    const first = run();
    expect(first).toContain('missing dawn.tar.xz.01');
    expect(first).toContain('waiting for the dawn parts');
    expect(existsSync(join(repo, '.gpu/node/bin/node'))).toBe(false);

    carryOnly('dawn.tar.xz.01');
    const second = run();
    expect(second).toContain('unpacking the dawn set');
    expect(second).toContain('skip dawn-adapter: the budget is spent');
    expect(second).toContain('not now: ort-tests (no ort set)');
    const env = readFileSync(join(tmp, 'out/env.txt'), 'utf8');
    expect(env).toContain(`node: ${join(repo, '.gpu/node/bin/node')} v20.0.0-fake`);
    expect(env).toContain('sets: dawn');
    expect(env).toContain('cuda ep: not carried');

    // the device tool lays the working tree anew: the staged parts are unpacked again
    rmSync(join(repo, '.gpu'), { recursive: true, force: true });
    rmSync(carry, { recursive: true, force: true });
    const third = run();
    expect(third).toContain('unpacking the dawn set');
    expect(existsSync(join(repo, '.gpu/node/bin/node'))).toBe(true);
  });

  it('drops a corrupt part and asks for it again', () => {
    carryOnly('SHA256SUMS', 'dawn.tar.xz.00', 'dawn.tar.xz.01');
    writeFileSync(join(carry, 'dawn.tar.xz.01'), 'not the part');
    const out = run();
    expect(out).toContain('corrupt dawn.tar.xz.01 (checksum): carry it again');
    expect(out).toContain('waiting for the dawn parts');
    expect(existsSync(join(stage, 'parts/dawn.tar.xz.01'))).toBe(false);
  });

  it('runs each stage once, in order; ORT stages wait for the ort set; --stages reruns', () => {
    carryOnly('SHA256SUMS', 'dawn.tar.xz.00', 'dawn.tar.xz.01');
    const budget = { GPU_CHECK_BUDGET_S: '600' };
    const first = run(budget);
    const s1 = stages();
    const ranFirst = s1.filter((s) => s.rc === 0).map((s) => s.stage);
    expect(ranFirst).toEqual([
      'dawn-adapter',
      'dawn-decode-1-bf16',
      'dawn-decode-64',
      'dawn-tests',
      'dawn-1.5b',
      'dawn-decode-1',
      'dawn-7b',
    ]);
    // python3 here has no transformers; the kernel shapes are not for lavapipe
    expect(s1.find((s) => s.stage === 'dawn-kernels')?.skipped).toContain('rehearsal');
    expect(first).toContain('not now: ort-1.5b (no ort set)');
    const calls = readFileSync(join(tmp, 'calls.log'), 'utf8');
    expect(calls).toMatch(/bench\.ts --backend dawn --model stories260K --only scale/);
    expect(calls).toMatch(/--only scale --no-save --effective-batch 2 --micro-batch 1/);
    expect(existsSync(join(tmp, 'out/results.tar.gz'))).toBe(true);
    // the device tool brings back 8 files a call: log, env, stages, results + 4 of this call's JSONs
    const back = readdirSync(join(tmp, 'out')).sort();
    expect(back).toEqual([
      'dawn-adapter.json',
      'dawn-decode-1-bf16.json',
      'dawn-decode-64.json',
      'dawn-tests.json',
      'env.txt',
      'gpu-check.log',
      'results.tar.gz',
      'stages.jsonl',
    ]);

    carryOnly('ort.tar.xz.00');
    run(budget);
    const ranSecond = stages()
      .slice(s1.length)
      .filter((s) => s.rc === 0)
      .map((s) => s.stage);
    // only what had not run: the ORT stages
    expect(ranSecond).toEqual([
      'ort-tests',
      'ort-1.5b',
      'ort-decode-1',
      'ort-decode-64',
      'ort-kernels',
      'ort-7b',
    ]);
    const listing = execFileSync('tar', ['-tzf', join(tmp, 'out/results.tar.gz')], {
      encoding: 'utf8',
    });
    for (const f of ['dawn-1.5b.json', 'ort-tests.json', 'ort-7b.json'])
      expect(listing).toContain(f);

    run(budget, '--stages', 'dawn-1.5b');
    expect(stages().at(-1)?.stage).toBe('dawn-1.5b');
  });

  it('on a GPU machine: installs the carried GL dispatch libraries and uses the driver ICD', () => {
    // fakes: ldconfig -p lists nothing, dpkg logs what it would unpack
    writeFileSync(join(fakeBin, 'ldconfig'), '#!/bin/sh\necho "ldconfig $*" >>"$FAKE_LOG"\n', {
      mode: 0o755,
    });
    writeFileSync(join(fakeBin, 'dpkg'), '#!/bin/sh\necho "dpkg $*" >>"$FAKE_LOG"\n', {
      mode: 0o755,
    });
    const icd = join(tmp, 'nvidia/share/vulkan/icd.d/nvidia_icd.json');
    mkdirSync(join(icd, '..'), { recursive: true });
    writeFileSync(icd, '{}');
    carryOnly('SHA256SUMS', 'dawn.tar.xz.00', 'dawn.tar.xz.01');
    const out = run({ GPU_CHECK_DEVICE: 'gpu' });
    expect(out).toContain('installing the carried loader and GL dispatch libraries');
    const calls = readFileSync(join(tmp, 'calls.log'), 'utf8');
    expect(calls).toContain(`dpkg -x ${join(repo, '.gpu/debs/libglvnd0_fake.deb')} /`);
    expect(calls).toContain(`dpkg -x ${join(repo, '.gpu/debs/libvulkan1_fake.deb')} /`);
    expect(readFileSync(join(tmp, 'out/env.txt'), 'utf8')).toContain(`VK_DRIVER_FILES=${icd}`);
  });

  it('rejects an unknown stage', () => {
    const r = spawnSync('bash', [join(repo, 'tools/gpu-check/run.sh'), '--stages', 'nope'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--stages nope: unknown');
  });
});
