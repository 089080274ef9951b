import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Dawn's C++ writes two lines to stderr (fprintf) whenever it creates an adapter, below anything
 * Node can intercept in-process. The bin therefore runs the CLI as a child whose stderr passes
 * through this filter: exactly those lines are dropped, everything else is forwarded at once.
 */

/** Set in the child the launcher starts: that process runs the CLI itself. */
export const CHILD_ENV = 'ONESHOT_EM_STDERR_CHILD';
/** =1 when the launcher's stderr is a terminal (the child's is a pipe to the launcher). */
export const TTY_ENV = 'ONESHOT_EM_STDERR_TTY';
/** =1: no filter; Dawn's start-up lines come through. */
export const KEEP_ENV = 'ONESHOT_EM_DAWN_WARNINGS';

/** The dropped lines, whole (a CRLF ending allowed): Dawn's uniform and storage variants. */
export const DAWN_START_UP_LINE =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const DAWN_PREFIX = 'Warning: maxDynamic';
/** A partial line longer than this cannot become a dropped one: it is forwarded. */
const LONGEST = 240;

export interface LineFilter {
  push(chunk: string): void;
  /** The stream ended: anything held is written. */
  end(): void;
}

/**
 * Forwards text as it arrives, except whole lines matching `drop`. A partial line is held only
 * while it may still become such a line (it starts with, or is the start of, `prefix`), and at
 * most `holdMs`; once any part of a line is written the rest of it follows unfiltered.
 */
export function createLineFilter(
  write: (text: string) => void,
  drop: RegExp = DAWN_START_UP_LINE,
  prefix: string = DAWN_PREFIX,
  holdMs = 100,
): LineFilter {
  let held = '';
  let midLine = false;
  let timer: NodeJS.Timeout | undefined;
  const mayBecome = (s: string) =>
    s.length <= LONGEST && (prefix.startsWith(s) || s.startsWith(prefix));
  const release = () => {
    timer = undefined;
    if (!held) return;
    write(held);
    held = '';
    midLine = true;
  };
  return {
    push(chunk) {
      clearTimeout(timer);
      let text = held + chunk;
      held = '';
      let out = '';
      while (text) {
        const nl = text.indexOf('\n');
        if (midLine || nl >= 0) {
          const line = nl >= 0 ? text.slice(0, nl + 1) : text;
          if (midLine || !drop.test(line.slice(0, -1))) out += line;
          midLine = nl < 0;
          text = text.slice(line.length);
        } else if (mayBecome(text)) {
          held = text;
          text = '';
        } else {
          out += text;
          midLine = true;
          text = '';
        }
      }
      if (out) write(out);
      if (held) timer = setTimeout(release, holdMs);
    },
    end() {
      clearTimeout(timer);
      release();
    },
  };
}

/** Whether `stream` is a terminal, or is the child's stderr piped to a launcher's terminal. */
export function isTerminal(stream: NodeJS.WritableStream & { isTTY?: boolean }): boolean {
  return Boolean(stream.isTTY) || (stream === process.stderr && process.env[TTY_ENV] === '1');
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The bin's entry: returns false where this process should run the CLI itself (it is the
 * child, or `ONESHOT_EM_DAWN_WARNINGS=1`); else runs `script ARGS` again as a child with stderr
 * filtered, forwards SIGINT/SIGTERM/SIGHUP to it, and exits as it exits (its code, or the same
 * signal), and returns true.
 */
export function launchFiltered(script: string, args: readonly string[]): boolean {
  if (process.env[CHILD_ENV] === '1' || process.env[KEEP_ENV] === '1') return false;
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: {
      ...process.env,
      [CHILD_ENV]: '1',
      ...(process.stderr.isTTY && { [TTY_ENV]: '1' }),
    },
  });
  const filter = createLineFilter((s) => process.stderr.write(s));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => filter.push(s));
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  child.on('error', (e) => {
    process.stderr.write(`oneshot-em: cannot start the CLI (${process.execPath}): ${e.message}\n`);
    process.exit(1);
  });
  child.on('close', (code, signal) => {
    filter.end();
    for (const s of FORWARDED) process.off(s, forward);
    // the default action of the child's signal ends this process the same way (e.g. 130, 143)
    process.exitCode = signal ? 128 + constants.signals[signal] : (code ?? 1);
    if (signal) process.kill(process.pid, signal);
  });
  return true;
}
