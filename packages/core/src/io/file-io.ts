import * as fs from 'node:fs';

/**
 * The positioned reads and writes every weight, gradient and optimizer file goes through, in
 * pieces of at most `chunkBytes` (docs/architecture.md#scale: no buffer of 1 GiB or more to save or load).
 * `write`/`read` default to fs.writeSync/fs.readSync; tests inject failures (ENOSPC, EACCES)
 * or record the size of every call.
 */
export interface FileIo {
  /** Largest single read, write and conversion buffer (default 64 MiB). */
  chunkBytes?: number;
  write?: PositionedIo;
  read?: PositionedIo;
}

/** fs.writeSync / fs.readSync of `length` bytes at `offset` in `buffer`, `position` in the file. */
type PositionedIo = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
) => number;

export const DEFAULT_CHUNK_BYTES = 64 * 2 ** 20;

/** The chunk size of `io`, checked: a positive multiple of 8 (so f32 and 16-bit chunks align). */
export function chunkBytesOf(io: FileIo | undefined): number {
  const n = io?.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(n) || n < 8 || n % 8 !== 0 || n >= 2 ** 30) {
    throw new Error(`chunkBytes: expected a multiple of 8 in [8, 1 GiB), got ${n}`);
  }
  return n;
}

/** Node's errno message, which names no path (e.g. "ENOSPC: no space left on device, write"). */
function errnoText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Writes all of `bytes` at `position` of `fd`, `chunkBytes` at a time; errors name `file`. */
export function writeAt(
  fd: number,
  bytes: Uint8Array,
  position: number,
  file: string,
  io: FileIo | undefined,
): void {
  const chunk = chunkBytesOf(io);
  const write = io?.write ?? fs.writeSync;
  let done = 0;
  while (done < bytes.length) {
    let n: number;
    try {
      n = write(fd, bytes, done, Math.min(chunk, bytes.length - done), position + done);
    } catch (e) {
      throw new Error(`${file}: write failed at byte ${position + done}: ${errnoText(e)}`, {
        cause: e,
      });
    }
    if (n <= 0) throw new Error(`${file}: write made no progress at byte ${position + done}`);
    done += n;
  }
}

/** Fills `target` from `position` of `fd`, `chunkBytes` at a time; a short file is an error. */
export function readAt(
  fd: number,
  target: Uint8Array,
  position: number,
  io: FileIo | undefined,
  onShort: (at: number) => Error,
): void {
  const chunk = chunkBytesOf(io);
  const read = io?.read ?? fs.readSync;
  let done = 0;
  while (done < target.length) {
    const n = read(fd, target, done, Math.min(chunk, target.length - done), position + done);
    if (n === 0) throw onShort(position + done);
    done += n;
  }
}
