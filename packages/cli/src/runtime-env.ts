import { chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * XDG_RUNTIME_DIR, which Vulkan drivers and Mesa read on Linux: where it is unset (npx, cron,
 * containers), the CLI sets the same private folder as the `./oneshot-em` wrapper before any
 * backend loads, so every way of starting it sees one environment. `setByCli` tells `doctor`
 * that the value is ours.
 */
export const runtimeDir: { dir?: string; setByCli: boolean } = { setByCli: false };

export function ensureXdgRuntimeDir(env: NodeJS.ProcessEnv = process.env): void {
  runtimeDir.dir = env.XDG_RUNTIME_DIR || undefined;
  if (runtimeDir.dir || process.platform !== 'linux') return;
  const dir = join(tmpdir(), `oneshot-em-xdg-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch {
    return; // left unset: doctor reports it with the command that fixes it
  }
  env.XDG_RUNTIME_DIR = dir;
  runtimeDir.dir = dir;
  runtimeDir.setByCli = true;
}
