import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tinyTrainArgs, tmp } from './run-cli.js';

const MODEL = join(import.meta.dirname, '..', '..', '..', 'core', 'assets', 'stories260K');
const TINY = tinyTrainArgs();

/** A run directory under hostile use: a second run, resumes that change things, a finished run. */
describe('train --out and --resume', () => {
  it('refuses a second run into a used --out, checks resumes against run_config.yaml', () => {
    const out = tmp();
    const first = runCli(['train', ...TINY, '--out', out]);
    expect(first.status, first.stderr).toBe(0);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    expect(readFileSync(join(out, 'run_config.yaml'), 'utf8')).toMatch(
      /lr: 0\.001\n[\s\S]*_identity:\n {2}model_dir: .*stories260K\n {2}model_config_sha256: [0-9a-f]{64}/,
    );

    // a second fresh run: refused before anything is written
    const again = runCli(['train', ...TINY, '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already holds files .*--overwrite replaces it/);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe(metrics);

    // resume of the finished run: nothing to do, with the recorded numbers
    const last = JSON.parse(metrics.trim().split('\n').at(-1) as string);
    const done = runCli(['train', '--resume', join(out, 'final')]);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stderr).toContain(
      `nothing left to do: step 2 of 2 done (loss ${last.loss.toFixed(4)}, entropy ${last.entropy.toFixed(4)})`,
    );
    expect(done.stderr).not.toMatch(/held-out/);

    // resume with other settings: every change listed, exit 2; the run is untouched
    const changed = runCli([
      'train',
      '--resume',
      join(out, 'step_1'),
      '--lr',
      '0.01',
      '--objective',
      'nll',
    ]);
    expect(changed.status).toBe(2);
    expect(changed.stderr).toContain('lr: 0.001 → 0.01');
    expect(changed.stderr).toContain('objective: "token-entropy" → "nll"');
    expect(changed.stderr).toContain('--allow-config-change');
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe(metrics);

    // a resume state that disagrees with its directory
    const state = join(out, 'step_1', 'oneshot_em_state.json');
    const st = JSON.parse(readFileSync(state, 'utf8'));
    writeFileSync(state, JSON.stringify({ ...st, step: 2, rollout_rows: 2 * st.effective_batch }));
    const torn = runCli(['train', '--resume', join(out, 'step_1')]);
    expect(torn.status).toBe(2);
    expect(torn.stderr).toMatch(/step 2 disagrees with its directory step_1/);
  });
});

describe('eval with problems that cannot run', () => {
  it('records each as its error, goes on, and counts them', () => {
    // the embedded model with a 32-token context: every benchmark prompt is too long
    const dir = tmp();
    const model = join(dir, 'short');
    cpSync(MODEL, model, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
    writeFileSync(
      join(model, 'config.json'),
      JSON.stringify({ ...cfg, max_position_embeddings: 32 }),
    );
    const out = join(dir, 'eval');
    const evalRun = ['eval', '--backend', 'reference', '--bench', 'math500', '--limit', '2'];
    const r = runCli([...evalRun, '--model', model, '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ errors: 2, benchmarks: [{ errors: 2 }] });
    const lines = readFileSync(join(out, 'problems.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(2);
    expect(JSON.parse(lines[0]).error).toMatch(/tokens; the model's context .* is 32/);
    expect(r.stderr).toMatch(/2 problem\(s\) could not run/);

    // the same --out with another model: refused, naming what changed
    const other = runCli([...evalRun, '--out', out]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/another model or settings[\s\S]*model_dir/);
  });
});

describe('FIFOs where files are expected', () => {
  it('train --config and grade --jsonl refuse at once, exit 2', () => {
    const fifo = join(tmp(), 'pipe');
    execFileSync('mkfifo', [fifo]);
    for (const args of [
      ['train', '--config', fifo],
      ['grade', '--jsonl', fifo],
    ]) {
      const r = runCli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${fifo}: not a regular file (a FIFO)`);
    }
  });
});

describe('--resume without --model', () => {
  it("continues with the recorded model and copies its files, not the embedded model's", () => {
    const dir = tmp();
    const model = join(dir, 'model');
    cpSync(MODEL, model, { recursive: true });
    // a marker only this copy has
    writeFileSync(
      join(model, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 1, eos_token_id: 2, marker: 'mine' }),
    );
    const out = join(dir, 'run');
    const first = runCli([
      'train',
      '--model',
      model,
      '--prompt',
      'Once upon a time',
      ...TINY,
      '--lr',
      '1e-3',
      '--out',
      out,
    ]);
    expect(first.status, first.stderr).toBe(0);
    const resumed = runCli(['train', '--resume', join(out, 'step_1'), '--out', join(dir, 'again')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`model ${model}`);
    const copied = JSON.parse(
      readFileSync(join(dir, 'again', 'final', 'generation_config.json'), 'utf8'),
    );
    expect(copied.marker).toBe('mine');
  });
});

describe('a locked --out', () => {
  it('train and eval refuse it, naming the holder (exit 2)', () => {
    const out = tmp();
    // held by this (live) test process
    writeFileSync(
      join(out, '.lock'),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        started: 'now',
        command: 'the test',
      }),
    );
    for (const args of [
      ['train', ...TINY, '--out', out],
      ['eval', '--backend', 'reference', '--bench', 'math500', '--limit', '1', '--out', out],
    ]) {
      const r = runCli(args);
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr).toContain(`${out} is in use by pid ${process.pid} on ${hostname()}`);
    }
    expect(JSON.parse(readFileSync(join(out, '.lock'), 'utf8')).command).toBe('the test');
  });
});
