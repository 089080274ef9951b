import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalKey, claimEvalOut } from './eval-key.js';
import { configChanges, readRunConfig, resumePoint, writeRunConfig } from './run-config.js';
import { assertOutUsable, clearRun, nameRunFileError, writeOutFile } from './run-dir.js';
import { LOCK_FILE, lockOut } from './run-lock.js';
import { tmp } from './test/run-cli.js';
import { parseTrainOptions } from '@oneshot-em/core';

const deadPid = () => {
  // a pid that was alive a moment ago and is not now
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
};

describe('--out lock', () => {
  it('is exclusive, names the holder, takes over a stale lock, and goes on release', () => {
    const out = tmp();
    const release = lockOut(out, 'oneshot-em train', () => {});
    const holder = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'));
    expect(holder).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
      command: 'oneshot-em train',
    });
    // a second locker in the same process sees a live holder
    expect(() => lockOut(out, 'again', () => {})).toThrow(
      new RegExp(`is in use by pid ${process.pid} on ${hostname()}.*oneshot-em train`),
    );
    release();
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);

    const pid = deadPid();
    writeFileSync(
      join(out, LOCK_FILE),
      JSON.stringify({ pid, hostname: hostname(), started: 'then', command: 'old run' }),
    );
    const notices: string[] = [];
    const release2 = lockOut(out, 'new run', (s) => notices.push(s));
    expect(notices.join()).toMatch(new RegExp(`stale lock .* of pid ${pid} \\(old run`));
    expect(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    release2();

    // another host's lock cannot be checked: refused
    writeFileSync(
      join(out, LOCK_FILE),
      JSON.stringify({ pid, hostname: 'elsewhere', started: 'then', command: 'remote run' }),
    );
    expect(() => lockOut(out, 'x', () => {})).toThrow(/in use by pid \d+ on elsewhere/);
  });

  it('is removed when the process is killed by SIGTERM', () => {
    const out = tmp();
    const code = `import('${join(import.meta.dirname, 'run-lock.ts')}').then((m) => { m.lockOut(${JSON.stringify(out)}, 'sleeper', () => {}); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000); })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(143);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });
});

describe('a non-empty --out', () => {
  it('is refused without --resume or --overwrite; --overwrite clears only run files', () => {
    const out = tmp();
    assertOutUsable(out, { overwrite: false, command: 'train' }); // empty: fine
    mkdirSync(join(out, 'step_1'));
    writeFileSync(join(out, 'metrics.jsonl'), '{"step":1}\n');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(() => assertOutUsable(out, { overwrite: false, command: 'train' })).toThrow(
      /already holds files .*--resume DIR continues that run, --overwrite replaces it/,
    );
    assertOutUsable(out, { overwrite: false, resume: join(out, 'step_1'), command: 'train' });
    assertOutUsable(out, { overwrite: true, command: 'train' });
    clearRun(out);
    expect(existsSync(join(out, 'step_1'))).toBe(false);
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(false);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

const MODEL = join(import.meta.dirname, '..', '..', 'core', 'assets', 'stories260K');

describe('run_config.yaml and --resume checks', () => {
  it('records the options and hashes; lists every change; train --config reads it back', () => {
    const out = tmp();
    const opts = parseTrainOptions({}, { model: MODEL, lr: 1e-3, out });
    writeRunConfig(out, opts, { model_config_sha256: 'aaa' });
    const rec = readRunConfig(out);
    expect(rec?.options).toMatchObject({
      lr: 1e-3,
      top_p: 0.95,
      effective_batch: 64,
      model: MODEL,
    });
    expect(rec?.identity).toEqual({ model_config_sha256: 'aaa' });
    // the recorded options are a valid config file for train
    expect(parseTrainOptions(rec?.options ?? {}, {}, 'run_config.yaml')).toEqual(opts);
    const changed = parseTrainOptions(rec?.options ?? {}, {
      lr: 1e-2,
      objective: 'nll',
      steps: 99,
    });
    expect(configChanges(rec!, changed, { model_config_sha256: 'bbb' })).toEqual([
      'objective: "token-entropy" → "nll"',
      'lr: 0.001 → 0.01',
      '_identity.model_config_sha256: "aaa" → "bbb"',
    ]); // steps is not compared: a run may go on past its end
  });

  it('a checkpoint step that disagrees with its directory or the metrics is an error; a finished run is done', () => {
    const out = tmp();
    const ck = (name: string, step: number) => {
      mkdirSync(join(out, name), { recursive: true });
      const state = { step, optimizer: 'adamw', seed: 1, effective_batch: 2, micro_batch: 1 };
      writeFileSync(join(out, name, 'oneshot_em_state.json'), JSON.stringify(state));
      return join(out, name);
    };
    writeFileSync(
      join(out, 'metrics.jsonl'),
      '{"step":1,"loss":0.5,"entropy":0.5}\n{"step":2,"loss":0.25,"entropy":0.2}\n',
    );
    expect(resumePoint(ck('step_1', 1), out, 2)).toEqual({ step: 1, done: undefined });
    expect(resumePoint(ck('final', 2), out, 2).done).toMatchObject({ loss: 0.25, entropy: 0.2 });
    expect(() => resumePoint(ck('step_3', 2), out, 5)).toThrow(
      /step 2 disagrees with its directory step_3/,
    );
    expect(() => resumePoint(ck('step_4', 4), out, 5)).toThrow(
      /step 4 is not in .*metrics\.jsonl \(it ends at step 2\)/,
    );
  });
});

describe('eval --out key', () => {
  it('refuses another model or settings in a reused --out, listing the changes', () => {
    const out = tmp();
    claimEvalOut(out, evalKey(MODEL, { n: 1, temperature: 0 }), false);
    writeFileSync(join(out, 'problems.jsonl'), '');
    claimEvalOut(out, evalKey(MODEL, { n: 1, temperature: 0 }), false); // same: resumes
    expect(() => claimEvalOut(out, evalKey(MODEL, { n: 4, temperature: 0.6 }), false)).toThrow(
      /another model or settings[\s\S]*n: 1 → 4[\s\S]*temperature: 0 → 0\.6/,
    );
    claimEvalOut(out, evalKey(MODEL, { n: 4, temperature: 0.6 }), true);
    expect(existsSync(join(out, 'problems.jsonl'))).toBe(false);
  });
});

describe('a full disk names the path', () => {
  it.skipIf(!existsSync('/dev/full'))('metrics writes and command outputs', () => {
    // /dev/full: every write fails with ENOSPC, as on a full disk; Node's error names no path
    let raw: unknown;
    try {
      appendFileSync('/dev/full', '{"step":1}\n');
    } catch (e) {
      raw = e;
    }
    expect((raw as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(String((nameRunFileError(raw, '/runs/x') as Error).message)).toMatch(
      /^\/runs\/x\/metrics\.jsonl or \/runs\/x\/run\.svg: cannot write the run's metrics \(ENOSPC/,
    );
    const other = new Error('something else');
    expect(nameRunFileError(other, '/runs/x')).toBe(other);
    expect(() => writeOutFile('/dev/full', 'x')).toThrow(/^\/dev\/full: cannot write it \(ENOSPC/);
  });
});
