import { describe, expect, it } from 'vitest';
import { BACKENDS, runCli } from './run-cli.js';

describe.each(BACKENDS)('oneshot-em generate --backend %s (embedded stories260K)', (backend) => {
  it('greedy from BOS tells the known story; --json gives ids and text', () => {
    const r = runCli([
      'generate',
      '--backend',
      backend,
      '--greedy',
      '--max-new-tokens',
      '40',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.prompt_ids).toEqual([1]);
    expect(out.ids.length).toBe(40);
    expect(out.text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
  });

  it('samples --n completions of a prompt, reproducibly for a seed', () => {
    const args = [
      'generate',
      '--backend',
      backend,
      '--prompt',
      'Tom had a red ball',
      '--n',
      '2',
      '--max-new-tokens',
      '12',
      '--seed',
      '5',
      '--json',
    ];
    const a = runCli(args);
    expect(a.status, a.stderr).toBe(0);
    const lines = a.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.prompt).toBe('Tom had a red ball');
    expect(runCli(args).stdout).toBe(a.stdout);
  });
});
