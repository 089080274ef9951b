import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

async function ortCheck(): Promise<Check[]> {
  const out: Check[] = [];
  try {
    const fromBackend = createRequire(
      createRequire(import.meta.url).resolve('@oneshot-em/backend-ort'),
    );
    let root = dirname(fromBackend.resolve('onnxruntime-node'));
    while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
    const version = (fromBackend('onnxruntime-node') as { env: { versions: { node: string } } }).env
      .versions.node;
    const bin = join(root, 'bin', 'napi-v6', process.platform, process.arch);
    out.push({ name: 'onnxruntime-node', ok: true, detail: `${version} (${bin})` });
    const cuda = existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
    out.push({
      name: 'ORT CUDA execution provider',
      ok: cuda,
      detail: cuda
        ? 'libonnxruntime_providers_cuda.so present'
        : 'not installed (the CPU EP works)',
      fix: cuda
        ? undefined
        : 'for NVIDIA GPUs: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node, or copy libonnxruntime_providers_{cuda,shared}.so next to onnxruntime_binding.node',
    });
    const { createOrtBackend } = await import('@oneshot-em/backend-ort');
    const b = await createOrtBackend({ device: 'cpu' });
    out.push({ name: 'ORT backend', ok: true, detail: `${b.name} starts` });
    await b.destroy();
  } catch (e) {
    out.push({
      name: 'ORT backend',
      ok: false,
      detail: (e as Error).message,
      fix: 'bash tools/scripts/setup.sh',
    });
  }
  return out;
}

async function dawnCheck(): Promise<Check[]> {
  const out: Check[] = [];
  const loader = sh('sh', ['-c', 'ldconfig -p | grep -m1 libvulkan.so.1']);
  out.push({
    name: 'Vulkan loader (libvulkan1)',
    ok: loader !== '',
    detail: loader || 'not found',
    fix: loader ? undefined : 'apt-get install -y libvulkan1',
  });
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].filter(existsSync);
  const icds = icdDirs.flatMap((d) => readdirSync(d));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
  const mesa = sh('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']);
  out.push({
    name: 'Vulkan drivers (ICDs)',
    ok: icds.length > 0,
    detail: icds.length
      ? `${icds.join(', ')}${mesa ? ` · mesa-vulkan-drivers ${mesa}` : ''}`
      : 'none',
    fix: icds.length
      ? undefined
      : 'a GPU driver, or Mesa lavapipe ≥ 23: bash tools/scripts/setup.sh (bookworm-backports)',
  });
  out.push({
    name: 'XDG_RUNTIME_DIR',
    ok: Boolean(process.env.XDG_RUNTIME_DIR),
    detail: process.env.XDG_RUNTIME_DIR ?? 'unset',
    fix: process.env.XDG_RUNTIME_DIR
      ? undefined
      : 'export XDG_RUNTIME_DIR=/tmp/xdg && mkdir -p $XDG_RUNTIME_DIR',
  });
  try {
    const { describeDawnAdapters } = await import('@oneshot-em/backend-dawn');
    const adapters = await describeDawnAdapters();
    for (const a of adapters) {
      out.push({
        name: `Dawn adapter ${a.index}`,
        ok: true,
        detail: `${a.description} · ${a.api}${a.isFallback ? ' · software' : ''} · features: ${a.features.filter((f) => /f16|subgroup/.test(f)).join(', ') || 'none of shader-f16/subgroups'} · maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}`,
      });
    }
  } catch (e) {
    out.push({
      name: 'Dawn backend',
      ok: false,
      detail: (e as Error).message,
      fix: 'bash tools/scripts/setup.sh',
    });
  }
  return out;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'backends, devices, drivers and versions: what is missing and the command that fixes it',
    )
    .option('--json', 'print the checks as JSON')
    .action(async (o: { json?: boolean }) => {
      const checks: Check[] = [
        {
          name: 'node',
          ok: Number(process.versions.node.split('.')[0]) >= 20,
          detail: process.version,
          fix: 'Node ≥ 20',
        },
        ...(await ortCheck()),
        ...(await dawnCheck()),
      ];
      const gpu = sh('nvidia-smi', [
        '--query-gpu=name,driver_version,memory.total',
        '--format=csv,noheader',
      ]);
      checks.push({
        name: 'NVIDIA GPU',
        ok: true,
        detail: gpu || 'none (CPU machine: ORT CPU EP and Dawn on lavapipe)',
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      } else {
        for (const c of checks) {
          process.stdout.write(
            `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}\n${!c.ok && c.fix ? `    fix: ${c.fix}\n` : ''}`,
          );
        }
      }
      if (checks.some((c) => !c.ok && c.name !== 'ORT CUDA execution provider'))
        process.exitCode = 1;
    });
}
