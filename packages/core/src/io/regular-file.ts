import * as fs from 'node:fs';

/**
 * Every file we read is stat'ed first: opening a FIFO blocks until a writer appears, and a
 * device or socket yields endless or no data, so those are refused at once, naming the path.
 */

/** What a path is, in words, for "not a regular file (a FIFO)". */
function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return st.isFile() ? 'a regular file' : 'an unknown kind of file';
}

/** An input path that exists but is the wrong kind of thing (FIFO, socket, device, directory). */
export class NotRegularFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'NotRegularFileError';
  }
}

function statOrThrow(file: string, what: string | undefined): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const label = what === undefined ? '' : ` (${what})`;
    throw new NotRegularFileError(
      file,
      err.code === 'ENOENT' ? `not found${label}` : `cannot stat${label}: ${err.message}`,
    );
  }
}

/**
 * Throws unless `file` is a regular file (symlinks followed). `what` says what it was meant to
 * be ("config.json", "--rollouts"), for the message.
 */
export function assertRegularFile(file: string, what?: string): void {
  const st = statOrThrow(file, what);
  if (!st.isFile()) {
    const label = what === undefined ? '' : `; expected ${what} as a regular file`;
    throw new NotRegularFileError(file, `not a regular file (${kindOf(st)})${label}`);
  }
}

/** Throws unless `dir` is a directory (symlinks followed). */
export function assertDirectory(dir: string, what?: string): void {
  const st = statOrThrow(dir, what);
  if (!st.isDirectory()) {
    const label = what === undefined ? '' : `; expected ${what}`;
    throw new NotRegularFileError(dir, `not a directory (${kindOf(st)})${label}`);
  }
}

/** Whether `file` exists as anything; a non-regular one then fails assertRegularFile. */
export function pathExists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Reads a whole regular file as UTF-8 (refusing FIFOs, devices, directories first). */
export function readRegularFileText(file: string, what?: string): string {
  assertRegularFile(file, what);
  return fs.readFileSync(file, 'utf8');
}
