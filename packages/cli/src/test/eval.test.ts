import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS, runCli, tmp } from './run-cli.js';

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

describe.each(BACKENDS)('oneshot-em eval --backend %s (embedded model, --limit)', (backend) => {
  it('prints the table, writes every problem, and resumes after an interruption', () => {
    const out = tmp();
    const args = [
      'eval',
      '--backend',
      backend,
      '--bench',
      'gsm8k,amc23',
      '--limit',
      '2',
      '--max-new-tokens',
      '8',
      '--out',
      out,
    ];
    const first = runCli(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/gsm8k\s+2/);
    expect(first.stdout).toMatch(/amc23\s+2/);
    expect(first.stdout).toMatch(/average/);
    const records = lines(join(out, 'problems.jsonl')).map((l) => JSON.parse(l));
    expect(records).toHaveLength(4);
    for (const r of records) {
      for (const key of ['benchmark', 'id', 'prompt', 'reference', 'samples'])
        expect(r).toHaveProperty(key);
    }
    const results = readFileSync(join(out, 'results.json'), 'utf8');
    // interrupted after one problem: the rest is generated, the first kept, nothing doubled
    writeFileSync(
      join(out, 'problems.jsonl'),
      `${lines(join(out, 'problems.jsonl'))[0]}\n{"benchmark":"gsm`,
    );
    const again = runCli(args);
    expect(again.status, again.stderr).toBe(0);
    expect(lines(join(out, 'problems.jsonl'))).toHaveLength(4);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(results);
  });
});

describe('oneshot-em grade', () => {
  it('prints correct or wrong for one answer, and grades a JSONL file', () => {
    expect(runCli(['grade', '--answer', '\\frac{64}{5}', '--reference', '12.8']).stdout).toBe(
      'correct\n',
    );
    expect(runCli(['grade', '--answer', '12.9', '--reference', '12.8']).stdout).toBe('wrong\n');
    expect(
      runCli(['grade', '--output', 'Thus $\\boxed{\\dfrac{1}{2}}$.', '--reference', '0.5']).stdout,
    ).toBe('correct\n');
    const dir = tmp();
    const file = join(dir, 'in.jsonl');
    writeFileSync(
      file,
      '{"answer":"(1, 2)","reference":"(1,2)"}\n{"output":"The answer is 7.","reference":"8"}\n',
    );
    const r = runCli(['grade', '--jsonl', file]);
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => o.correct)).toEqual([true, false]);
    expect(out[1].extracted).toBe('7');
  });
});

describe('oneshot-em compare', () => {
  it('--help lists only the flags it reads (its models are --base and --trained, no --model)', () => {
    const help = runCli(['compare', '--help']).stdout;
    expect(help).toContain('--base <dir>');
    expect(help).toContain('--backend <name>');
    expect(help).not.toContain('--model');
  });

  it('writes the summary and both histograms; a model compared with itself shows no shift', () => {
    const out = tmp();
    const model = join(import.meta.dirname, '../../../core/assets/stories260K');
    const r = runCli([
      'compare',
      '--base',
      model,
      '--trained',
      model,
      '--max-new-tokens',
      '16',
      '--out',
      out,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    // snake_case keys, as in every file we write
    expect(s.base.mean_entropy).toBeCloseTo(s.trained.mean_entropy, 10);
    expect(s.base.mean_max_prob).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'))).toEqual(s);
    expect(readFileSync(join(out, 'logits.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'entropy.svg'), 'utf8')).toMatch(/^<svg/);
  });
});
