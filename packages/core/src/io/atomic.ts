import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Directory replacement that never leaves a half-written directory where a good one was.
 *
 * Protocol for `target`:
 *   1. write everything into `<target>.incoming` (a sibling, so renames stay on one file system),
 *      fsync each file and the directory;
 *   2. if `target` exists, rename it to `<target>.previous`; fsync the parent;
 *   3. rename `<target>.incoming` to `target`; fsync the parent;
 *   4. delete `<target>.previous`.
 * A crash in 1 leaves the old `target` untouched (and a stale `.incoming`, deleted by the next
 * write). A crash between 2 and 3 leaves no `target` but a complete `.previous` (and complete
 * `.incoming`); `recoverInterruptedWrite` — run at the start of every write — puts the previous
 * directory back. Node has no atomic directory exchange (renameat2), hence the two renames.
 */

export function incomingPath(target: string): string {
  return `${path.resolve(target)}.incoming`;
}

export function previousPath(target: string): string {
  return `${path.resolve(target)}.previous`;
}

/** fsync a file or directory; file systems that cannot sync a directory are tolerated. */
function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync every file under `dir`, then the directories bottom-up. */
function fsyncTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

/**
 * Undoes a write interrupted between its two renames (no `target`, a `.previous` beside it)
 * and removes a stale `.incoming`. Returns true when it restored the previous directory.
 */
export function recoverInterruptedWrite(target: string): boolean {
  const previous = previousPath(target);
  let restored = false;
  if (!fs.existsSync(target) && fs.existsSync(previous)) {
    fs.renameSync(previous, path.resolve(target));
    fsyncPath(path.dirname(path.resolve(target)));
    restored = true;
  }
  fs.rmSync(incomingPath(target), { recursive: true, force: true });
  fs.rmSync(previous, { recursive: true, force: true });
  return restored;
}

/** Steps 0–1 of the protocol: recover, then a fresh, empty `.incoming`. */
function prepare(target: string): { resolved: string; incoming: string } {
  const resolved = path.resolve(target);
  fs.mkdirSync(path.dirname(resolved), { recursive: true });
  recoverInterruptedWrite(resolved);
  if (fs.existsSync(resolved) && !fs.statSync(resolved).isDirectory()) {
    throw new Error(`${resolved}: exists and is not a directory; refusing to replace it`);
  }
  const incoming = incomingPath(resolved);
  fs.mkdirSync(incoming);
  return { resolved, incoming };
}

/** Steps 2–4: swap the complete, fsynced `.incoming` in. */
function commit(resolved: string, incoming: string): void {
  const parent = path.dirname(resolved);
  const previous = previousPath(resolved);
  const replacing = fs.existsSync(resolved);
  if (replacing) {
    fs.renameSync(resolved, previous);
    fsyncPath(parent);
  }
  fs.renameSync(incoming, resolved);
  fsyncPath(parent);
  if (replacing) fs.rmSync(previous, { recursive: true, force: true });
}

/**
 * A failed save, named by its target: the message says that what was there before is intact
 * (the new files only ever lived in `.incoming`, now removed) and carries the cause's message,
 * which names the file (ENOSPC, EACCES, a non-finite tensor …).
 */
export class SaveError extends Error {
  constructor(
    readonly target: string,
    cause: unknown,
  ) {
    const had = fs.existsSync(target);
    super(
      `${target}: not saved (${had ? 'the previous checkpoint there is intact' : 'nothing was written there'}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'SaveError';
  }
}

/** After a failed write: removes `.incoming` and throws the error as a SaveError. */
function fail(target: string, incoming: string | undefined, e: unknown): never {
  if (incoming !== undefined) fs.rmSync(incoming, { recursive: true, force: true });
  if (e instanceof SaveError) throw e;
  throw new SaveError(path.resolve(target), e);
}

/**
 * Creates or replaces the directory `target` with what `write(dir)` puts into `dir`, atomically
 * (see the protocol above): however many files `write` creates (a sharded model, optimizer
 * shards), `target` afterwards holds exactly them — no file of the previous directory survives
 * — or, if anything throws, exactly what it held before (the error is a SaveError).
 */
export function writeDirAtomically(target: string, write: (dir: string) => void): void {
  let dirs: { resolved: string; incoming: string } | undefined;
  try {
    dirs = prepare(target);
    write(dirs.incoming);
    fsyncTree(dirs.incoming);
  } catch (e) {
    fail(target, dirs?.incoming, e);
  }
  commit(dirs.resolved, dirs.incoming);
}

/** writeDirAtomically for a writer that awaits (tensors read from a backend one at a time). */
export async function writeDirAtomicallyAsync(
  target: string,
  write: (dir: string) => Promise<void>,
): Promise<void> {
  let dirs: { resolved: string; incoming: string } | undefined;
  try {
    dirs = prepare(target);
    await write(dirs.incoming);
    fsyncTree(dirs.incoming);
  } catch (e) {
    fail(target, dirs?.incoming, e);
  }
  commit(dirs.resolved, dirs.incoming);
}
