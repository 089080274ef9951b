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

/**
 * Creates or replaces the directory `target` with what `write(dir)` puts into `dir`, atomically
 * (see the protocol above). If `write` throws, `target` is left as it was.
 */
export function writeDirAtomically(target: string, write: (dir: string) => void): void {
  const resolved = path.resolve(target);
  const parent = path.dirname(resolved);
  fs.mkdirSync(parent, { recursive: true });
  recoverInterruptedWrite(resolved);
  if (fs.existsSync(resolved) && !fs.statSync(resolved).isDirectory()) {
    throw new Error(`${resolved}: exists and is not a directory; refusing to replace it`);
  }
  const incoming = incomingPath(resolved);
  fs.mkdirSync(incoming);
  try {
    write(incoming);
    fsyncTree(incoming);
  } catch (e) {
    fs.rmSync(incoming, { recursive: true, force: true });
    throw e;
  }
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
