import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from './errors.js';

/** `<out>/.lock`: who writes this run directory now. */
export const LOCK_FILE = '.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  started: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid exists but belongs to another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.hostname === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

const held = new Set<string>();
let handlersInstalled = false;

/** Removes every lock this process holds (exit, signals). */
function releaseAll(): void {
  for (const file of held) rmSync(file, { force: true });
  held.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', releaseAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      releaseAll();
      process.exit(code);
    });
  }
}

/**
 * Locks `out` for this process: creates `<out>/.lock` atomically (O_EXCL) with pid, hostname,
 * start time and command. A lock whose pid is gone on this host is stale and taken over with a
 * notice; a live holder (or one on another host, which we cannot check) is refused, naming it
 * (exit 2). Returns the release function; the lock also goes at exit and on SIGINT/SIGTERM.
 */
export function lockOut(out: string, command: string, notice: (s: string) => void): () => void {
  mkdirSync(out, { recursive: true });
  const file = join(out, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    started: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`${file}: cannot create the run lock (${(e as Error).message})`);
      }
      const h = readHolder(file);
      const stale = h !== undefined && h.hostname === me.hostname && !alive(h.pid);
      if (!stale || attempt > 0) {
        const who = h
          ? `pid ${h.pid} on ${h.hostname} since ${h.started} (${h.command})`
          : 'an unreadable lock file';
        throw new UserError(
          `${out} is in use by ${who}; wait for it, use another --out, or delete ${file} if that process is gone`,
        );
      }
      notice(
        `taking over the stale lock ${file} of pid ${h.pid} (${h.command}, since ${h.started}): that process is gone`,
      );
      rmSync(file, { force: true });
    }
  }
  held.add(file);
  installHandlers();
  return () => {
    if (held.delete(file)) rmSync(file, { force: true });
  };
}
