import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import {
  BACKEND_PACKAGES,
  BackendNotInstalledError,
  type BackendPackageName,
  loadBackendPlugin,
} from '@oneshot-em/core/node';
import type { Command } from 'commander';
import { runtimeDir } from '../runtime-env.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** a failure that leaves oneshot-em usable (an optional accelerator or backend package) */
  optional?: boolean;
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

/**
 * A backend's own checks, through its plug-in (core's registry, as the commands load it); a
 * backend package that is not installed is one line naming the install command.
 */
async function backendChecks(name: BackendPackageName): Promise<Check[]> {
  try {
    return await (await loadBackendPlugin(name)).diagnose();
  } catch (e) {
    const missing = e instanceof BackendNotInstalledError;
    return [
      {
        name: `backend ${name}`,
        ok: false,
        detail: (e as Error).message,
        fix: missing ? `npm install ${BACKEND_PACKAGES[name]}` : 'bash tools/scripts/setup.sh',
        optional: missing,
      },
    ];
  }
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
  // main.ts sets it where it is unset (as the ./oneshot-em wrapper does): say whose it is
  const linux = process.platform === 'linux';
  out.push({
    name: 'XDG_RUNTIME_DIR',
    ok: Boolean(runtimeDir.dir) || !linux,
    detail: runtimeDir.dir
      ? `${runtimeDir.dir}${runtimeDir.setByCli ? ' (unset in the environment; oneshot-em sets it for itself, as ./oneshot-em does)' : ''}`
      : linux
        ? 'unset, and oneshot-em could not create one'
        : `not used on ${process.platform}`,
    fix: runtimeDir.dir
      ? undefined
      : 'export XDG_RUNTIME_DIR=/tmp/xdg-$(id -u) && mkdir -m 700 -p $XDG_RUNTIME_DIR',
    optional: true,
  });
  const dawn = await backendChecks('dawn');
  out.push(...dawn);
  if (dawn.some((c) => c.ok && c.name.startsWith('Dawn adapter'))) {
    // Dawn's C++ writes these with fprintf(stderr) while it enumerates Vulkan adapters, with no
    // logging switch: the bin drops them from its child's stderr (stderr-filter.ts)
    out.push({
      name: 'Dawn start-up notes',
      ok: true,
      detail:
        "the oneshot-em command drops Dawn's two 'Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially reduced from N to 16' lines from stderr (ONESHOT_EM_DAWN_WARNINGS=1 shows them): harmless, Dawn caps the driver's limit to its own (the kernels use no dynamic offsets)",
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
        ...(await backendChecks('ort')),
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
      if (checks.some((c) => !c.ok && !c.optional)) process.exitCode = 1;
    });
}
