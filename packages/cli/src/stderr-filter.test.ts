import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLineFilter, DAWN_START_UP_LINE, isTerminal, TTY_ENV } from './stderr-filter.js';
import { DAWN_STORAGE, DAWN_UNIFORM, MIXED_WRITES } from './test/stderr-lines.js';
import { tmp } from './test/run-cli.js';

const child = join(import.meta.dirname, 'test', 'stderr-child.ts');
const bin = join(import.meta.dirname, '..', 'bin', 'oneshot-em.mjs');
const NODE_ARGS = ['--import', 'tsx'];

/** What must come through of MIXED_WRITES: all of it but the three whole Dawn lines. */
const MIXED_EXPECTED = MIXED_WRITES.join('')
  .replace(`${DAWN_UNIFORM}\n`, '')
  .replace(`${DAWN_STORAGE}\r\n`, '')
  .replace(`${DAWN_STORAGE}\n`, '');

/** Every write in `writes` through one filter; the text written, in order. */
function filtered(writes: readonly string[]): string {
  let out = '';
  const f = createLineFilter((s) => {
    out += s;
  });
  for (const w of writes) f.push(w);
  f.end();
  return out;
}

describe('the stderr line filter', () => {
  it('matches the two Dawn lines whole, nothing longer, shorter or indented', () => {
    expect(DAWN_START_UP_LINE.test(DAWN_UNIFORM)).toBe(true);
    expect(DAWN_START_UP_LINE.test(DAWN_STORAGE)).toBe(true);
    expect(DAWN_START_UP_LINE.test(`${DAWN_UNIFORM} x`)).toBe(false);
    expect(DAWN_START_UP_LINE.test(` ${DAWN_UNIFORM}`)).toBe(false);
    expect(DAWN_START_UP_LINE.test(DAWN_UNIFORM.slice(0, -1))).toBe(false);
  });

  it('drops exactly the whole Dawn lines however the text is cut into chunks', () => {
    const text = MIXED_WRITES.join('');
    expect(filtered(MIXED_WRITES)).toBe(MIXED_EXPECTED);
    expect(filtered([text])).toBe(MIXED_EXPECTED);
    // every cut into two and (coarsely) three chunks
    for (let i = 0; i <= text.length; i++) {
      expect(filtered([text.slice(0, i), text.slice(i)]), `cut at ${i}`).toBe(MIXED_EXPECTED);
      const j = Math.min(text.length, i + 37);
      expect(filtered([text.slice(0, i), text.slice(i, j), text.slice(j)])).toBe(MIXED_EXPECTED);
    }
  });

  it('forwards a partial line at once unless it may still be a Dawn line; that one at most holdMs', async () => {
    let out = '';
    const f = createLineFilter((s) => (out += s), DAWN_START_UP_LINE, 'Warning: maxDynamic', 30);
    f.push('\r\x1b[2K step 3/10 · rollout');
    expect(out).toBe('\r\x1b[2K step 3/10 · rollout');
    f.push(' 42 tok/s\n');
    f.push('Warning: maxDyn');
    expect(out).toBe('\r\x1b[2K step 3/10 · rollout 42 tok/s\n');
    await sleep(80);
    expect(out).toBe('\r\x1b[2K step 3/10 · rollout 42 tok/s\nWarning: maxDyn');
    // once part of the line is out, the rest follows even if the whole would have matched
    f.push(DAWN_UNIFORM.slice('Warning: maxDyn'.length));
    f.push('\n');
    expect(out.endsWith(`${DAWN_UNIFORM}\n`)).toBe(true);
    f.end();
  });

  it('a pipe counts as a terminal only for process.stderr, when the launcher says so', () => {
    const before = process.env[TTY_ENV];
    try {
      delete process.env[TTY_ENV];
      expect(isTerminal(process.stderr)).toBe(Boolean(process.stderr.isTTY));
      process.env[TTY_ENV] = '1';
      expect(isTerminal(process.stderr)).toBe(true);
      expect(isTerminal({ write: () => true } as never)).toBe(false);
    } finally {
      if (before === undefined) delete process.env[TTY_ENV];
      else process.env[TTY_ENV] = before;
    }
  });
});

/** Runs the stand-in bin (launcher + filtered child) to the end. */
function runChild(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...NODE_ARGS, child, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

/** Starts the stand-in bin; resolves `until(text)` once its stderr contains `text`. */
function startChild(args: string[]) {
  const p = spawn(process.execPath, [...NODE_ARGS, child, ...args], { stdio: 'pipe' });
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (s: string) => {
    stderr += s;
    for (const w of waiters.filter((w) => stderr.includes(w.text))) w.resolve();
  });
  const until = (text: string) =>
    new Promise<void>((resolve) => {
      if (stderr.includes(text)) resolve();
      else waiters.push({ text, resolve });
    });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { p, until, exit, stderr: () => stderr };
}

describe('the launcher: the CLI as a child, its stderr filtered', () => {
  it('lets through exactly the other lines (partial lines and \\r updates included); stdout untouched', () => {
    const r = runChild(['mixed']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(MIXED_EXPECTED);
    expect(r.stdout).toBe('result on stdout\n');
    // ONESHOT_EM_DAWN_WARNINGS=1: no filter, every line as written
    const all = runChild(['mixed'], { ONESHOT_EM_DAWN_WARNINGS: '1' });
    expect(all.stderr).toBe(MIXED_WRITES.join(''));
  });

  it("exits with the child's code, or dies by the child's signal", () => {
    for (const code of [0, 42]) {
      const r = runChild(['exit', String(code)]);
      expect(r.status).toBe(code);
      expect(r.stderr).toBe(`exiting ${code}\n`);
    }
    for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
      const r = runChild(['signal', signal]);
      expect(r.signal, signal).toBe(signal);
    }
  });

  it('forwards a partial line before the child ends the line', async () => {
    const c = startChild(['wait-stdin']);
    await c.until('\rstep 1');
    c.p.stdin.end('go\n');
    expect(await c.exit).toEqual({ code: 0, signal: null });
    expect(c.stderr()).toBe('\rstep 1 then go\n');
  });

  it('forwards SIGTERM and SIGINT to the child', async () => {
    const term = startChild(['term']);
    await term.until('ready\n');
    term.p.kill('SIGTERM');
    expect(await term.exit).toEqual({ code: 143, signal: null });
    expect(term.stderr()).toBe('ready\nchild got SIGTERM\n');
    // the child has no SIGINT handler: it dies by SIGINT, and so does the launcher
    const int = startChild(['term']);
    await int.until('ready\n');
    int.p.kill('SIGINT');
    expect(await int.exit).toEqual({ code: null, signal: 'SIGINT' });
  });

  it('tells the child whether its stderr ends at a terminal', () => {
    expect(runChild(['tty']).stdout).toBe('unset false\n');
    expect(runChild(['tty'], { FAKE_TTY: '1' }).stdout).toBe('1 true\n');
  });
});

describe('oneshot-em on Dawn', () => {
  it("generate --backend dawn prints none of Dawn's start-up lines (ONESHOT_EM_DAWN_WARNINGS=1: both)", () => {
    const xdg = tmp('oneshot-xdg-');
    const run = (env: Record<string, string>) =>
      spawnSync(
        process.execPath,
        [bin, 'generate', '--backend', 'dawn', '--max-new-tokens', '3', '--prompt', 'Once'],
        {
          encoding: 'utf8',
          env: { ...process.env, XDG_RUNTIME_DIR: xdg, ...env },
          timeout: 300_000,
        },
      );
    const quiet = run({});
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stdout.startsWith('Once')).toBe(true);
    expect(quiet.stderr).not.toContain('artificially reduced');
    const loud = run({ ONESHOT_EM_DAWN_WARNINGS: '1' });
    expect(loud.status, loud.stderr).toBe(0);
    const lines = loud.stderr.split('\n').filter((l) => DAWN_START_UP_LINE.test(l));
    expect(lines.map((l) => l.slice(0, 'Warning: maxDynamicUniform'.length))).toEqual([
      'Warning: maxDynamicUniform',
      'Warning: maxDynamicStorage',
    ]);
  });
});
