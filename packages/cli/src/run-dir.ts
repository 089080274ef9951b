import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors.js';
import { RUN_CONFIG_FILE } from './run-config.js';
import { LOCK_FILE } from './run-lock.js';

/** What a train run writes into its --out: what --overwrite removes, and nothing else. */
function isRunArtifact(name: string): boolean {
  return (
    // step_<N>.deleting: a --save-total-limit delete a crash interrupted
    /^step_\d+(\.deleting)?$/.test(name) ||
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

/** Errors of a full disk, a quota, a refused or read-only write: the path is what the user needs. */
const WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EFBIG']);

/**
 * A write error from the trainer's metrics.jsonl / run.svg writes carries no path (Node names only
 * `write`); checkpoints already name theirs (SaveError). Returns the error naming the run files.
 */
export function nameRunFileError(err: unknown, out: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string' || !WRITE_ERRORS.has(e.code)) return err;
  if (e.path !== undefined || e.message.includes(out)) return err;
  const named = new Error(
    `${join(out, 'metrics.jsonl')} or ${join(out, 'run.svg')}: cannot write the run's metrics (${e.message}); the checkpoints saved so far are intact`,
  );
  return named;
}

/** writeFileSync whose error names the file (a full disk or a refused write). */
export function writeOutFile(file: string, data: string): void {
  try {
    writeFileSync(file, data);
  } catch (e) {
    throw new Error(`${file}: cannot write it (${(e as Error).message})`);
  }
}
