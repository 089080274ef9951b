import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors.js';
import { RUN_CONFIG_FILE } from './run-config.js';
import { LOCK_FILE } from './run-lock.js';

/** What a train run writes into its --out: what --overwrite removes, and nothing else. */
function isRunArtifact(name: string): boolean {
  return (
    /^step_\d+$/.test(name) ||
    name === 'final' ||
    name === 'metrics.jsonl' ||
    name === 'run.svg' ||
    name === RUN_CONFIG_FILE
  );
}

/**
 * Refuses to start a run into a non-empty `out` (another run's files would be truncated or mixed)
 * unless it continues that run (`--resume` of a checkpoint inside it) or `--overwrite` was given.
 */
export function assertOutUsable(
  out: string,
  o: { resume?: string; overwrite: boolean; command: string },
): void {
  let entries: string[];
  try {
    entries = readdirSync(out).filter((n) => n !== LOCK_FILE);
  } catch {
    return; // not there yet
  }
  if (entries.length === 0 || o.overwrite) return;
  if (o.resume && resolve(o.resume, '..') === resolve(out)) return;
  const shown = entries.slice(0, 4).join(', ') + (entries.length > 4 ? ', …' : '');
  throw new UserError(
    `--out ${out} already holds files (${shown}); ${o.command === 'train' ? '--resume DIR continues that run, ' : ''}--overwrite replaces it, or choose another --out`,
  );
}

/** --overwrite: removes the previous run's files (only what a run writes), right before training. */
export function clearRun(out: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(out);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!isRunArtifact(name)) continue;
    try {
      rmSync(join(out, name), { recursive: true, force: true });
    } catch (e) {
      throw new Error(
        `${join(out, name)}: cannot remove it for --overwrite (${(e as Error).message})`,
      );
    }
  }
}
