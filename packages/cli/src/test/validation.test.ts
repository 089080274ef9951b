import { describe, expect, it } from 'vitest';
import { EXIT_USAGE, exitCodeFor } from '../exit-codes.js';
import { buildProgram } from '../program.js';

/** Parses ARGS in-process (no model is loaded: validation comes first) → the error main sees. */
async function parseError(args: string[]): Promise<{ message: string; code: number }> {
  const program = buildProgram();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const c of program.commands) c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    await program.parseAsync(['node', 'oneshot-em', ...args]);
  } catch (e) {
    return { message: (e as Error).message, code: exitCodeFor(e) };
  }
  throw new Error(`oneshot-em ${args.join(' ')} did not fail`);
}

describe('one validation layer for every command', () => {
  const cases: [string[], string][] = [
    [['generate', '--top-p', '1.5'], '--top-p: expected a number in (0, 1], got 1.5'],
    [['generate', '--temperature', '-1'], '--temperature: expected a number ≥ 0, got -1'],
    [['generate', '--repetition-penalty', '0'], '--repetition-penalty: expected a number > 0'],
    [['generate', '--top-k', '-3'], '--top-k: expected an integer ≥ 0, got -3'],
    [['generate', '--n', '0'], '--n: expected an integer in [1, 1024], got 0'],
    [['generate', '--n', '1e9'], '--n: expected an integer in [1, 1024], got 1000000000'],
    [['generate', '--max-new-tokens', '0'], '--max-new-tokens: expected an integer in [1, '],
    [['generate', '--top-p', 'abc'], "--top-p: expected a number, got 'abc'"],
    [['entropy', '--loss-temperature', '0'], '--loss-temperature: expected a number > 0, got 0'],
    [['entropy', '--max-new-tokens', '2.5'], '--max-new-tokens: expected an integer'],
    [['eval', '--n', '0'], '--n: expected an integer in [1, 1024]'],
    [['eval', '--top-p', '0'], '--top-p: expected a number in (0, 1], got 0'],
    [['eval', '--n', '64', '--batch-size', '64'], 'at most 1024 (lower --batch-size)'],
    [
      ['compare', '--base', 'a', '--trained', 'b', '--loss-temperature', '-2'],
      '--loss-temperature: expected a number > 0',
    ],
    [['train', '--top-p', '1.5'], '--top-p: expected a number in (0, 1], got 1.5'],
    [['train', '--repetition-penalty', '0'], '--repetition-penalty: expected a number > 0'],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')} → exit 2, naming the flag and the range`, async () => {
      const e = await parseError(args);
      expect(e.message).toContain(message);
      expect(e.code).toBe(EXIT_USAGE);
    });
  }

  it("commander's own errors exit 2 too (unknown flag, missing value, bad choice, mandatory)", async () => {
    for (const args of [
      ['train', '--learning-rate', '1'],
      ['generate', '--top-p'],
      ['generate', '--backend', 'cuda'],
      ['compare', '--base', 'a'],
      ['nonesuch'],
    ]) {
      expect((await parseError(args)).code, args.join(' ')).toBe(EXIT_USAGE);
    }
  });

  it('help and version exit 0; no command at all is a usage error', async () => {
    expect((await parseError(['--help'])).code).toBe(0);
    expect((await parseError(['train', '--help'])).code).toBe(0);
    expect((await parseError(['--version'])).code).toBe(0);
    expect((await parseError([])).code).toBe(EXIT_USAGE);
  });

  it('every command documents the exit codes in --help', () => {
    const program = buildProgram();
    for (const c of program.commands) {
      let text = '';
      c.configureOutput({ writeOut: (s) => (text += s) });
      c.outputHelp();
      expect(text, c.name()).toMatch(/Exit codes: 0 success · 2 usage or input error/);
    }
  });
});
