import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runSizeArgs, tmp } from './run-cli.js';

/** Every object key that is not snake_case, as `file: path.key`, in a JSON or JSONL text. */
function camelKeys(name: string, text: string, skip: (path: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (skip(path)) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, `${path}[]`);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (/[a-z0-9][A-Z]/.test(k)) found.push(`${name}: ${path}.${k}`);
        walk(x, `${path}.${k}`);
      }
    }
  };
  const docs = (() => {
    try {
      return [JSON.parse(text)];
    } catch {
      return text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    }
  })();
  for (const d of docs) walk(d, '');
  return found;
}

// Hugging Face's own formats, copied or written to their schema: their keys are theirs
const HF_FILES = new Set(['tokenizer.json', 'tokenizer_config.json', 'config.json']);
const hfPath = (path: string) => path.startsWith('.stateful_callbacks'); // trainer_state.json

describe('every JSON and JSONL file (and --json output) we write has snake_case keys', () => {
  it('train, train --dry-run, eval, compare, generate, entropy, doctor', () => {
    const dir = tmp();
    const model = join(import.meta.dirname, '../../../core/assets/stories260K');
    const outputs: Record<string, string> = {};
    const run = (name: string, args: string[]) => {
      const r = runCli(args);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      if (args.includes('--json')) outputs[`${name} --json`] = r.stdout;
    };
    const small = ['--backend', 'reference', '--max-new-tokens', '6'];
    const size = runSizeArgs({ steps: 1, maxNewTokens: 6 });
    run('train', ['train', '--backend', 'reference', ...size, '--out', join(dir, 'run')]);
    run('plan', ['train', '--dry-run', '--json']);
    const evalRun = ['eval', ...small, '--bench', 'gsm8k', '--limit', '1', '--n', '2'];
    run('eval', [...evalRun, '--out', join(dir, 'eval')]);
    run('eval', [...evalRun, '--out', join(dir, 'eval'), '--json']);
    run('compare', [
      'compare',
      ...small,
      '--base',
      model,
      '--trained',
      model,
      '--out',
      join(dir, 'cmp'),
      '--json',
    ]);
    run('generate', ['generate', ...small, '--json']);
    run('entropy', ['entropy', '--backend', 'reference', '--prompt', 'Tom had', '--json']);
    run('doctor', ['doctor', '--json']);
    const files = (sub: string) =>
      readdirSync(join(dir, sub), { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.jsonl?$/.test(f) && !HF_FILES.has(f.split('/').pop() ?? ''))
        .map((f) => join(sub, f));
    const written = [...files('run'), ...files('eval'), ...files('cmp')];
    // the files that matter are there (a renamed file would pass the scan by absence)
    for (const f of [
      'metrics.jsonl',
      'trainer_state.json',
      'results.json',
      'problems.jsonl',
      'compare.json',
    ])
      expect(
        written.some((w) => w.endsWith(f)),
        f,
      ).toBe(true);
    const bad = [
      ...written.flatMap((f) => camelKeys(f, readFileSync(join(dir, f), 'utf8'), hfPath)),
      ...Object.entries(outputs).flatMap(([name, text]) => camelKeys(name, text, () => false)),
    ];
    expect(bad).toEqual([]);
  });
});
