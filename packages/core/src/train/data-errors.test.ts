import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPrompts } from './prompts.js';
import { loadRollouts, RolloutsError } from './rollouts.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-errors-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
function write(ext: string, text: string): string {
  const file = path.join(root, `f${count++}${ext}`);
  fs.writeFileSync(file, text);
  return file;
}

const good = '{"prompt_ids":[1,2],"completion_ids":[3]}';

describe('loadRollouts names the line, the field and what was expected', () => {
  it.each([
    ['{"prompt_ids":[1]}', 'field "completion_ids": missing; expected {"prompt_ids"'],
    [
      '{"prompt_ids":[1],"completion_ids":"3"}',
      'field "completion_ids": expected a list of token ids, got "3"',
    ],
    [
      '{"prompt_ids":[1,-4],"completion_ids":[3]}',
      'field "prompt_ids[1]": expected a token id (an integer ≥ 0), got -4 (negative)',
    ],
    [
      '{"prompt_ids":[1],"completion_ids":[2.5]}',
      'field "completion_ids[0]": expected a token id (an integer ≥ 0), got 2.5 (fractional)',
    ],
    [
      '{"prompt_ids":[1],"completion_ids":["a"]}',
      'field "completion_ids[0]": expected a token id (an integer ≥ 0), got "a" (not a number)',
    ],
    [
      '{"prompt_ids":[1],"completion_ids":[]}',
      'field "completion_ids": is empty; expected at least one token id',
    ],
    [
      '{"prompt":"p","completion":""}',
      'field "completion": is empty; expected at least one character',
    ],
    ['{"prompt":"p"}', 'field "completion": missing'],
    ['{"prompt":3,"completion":"c"}', 'field "prompt": expected a string, got 3'],
    [
      '{"text":"x"}',
      'expected {"prompt_ids":[…],"completion_ids":[…]} or {"prompt":"…","completion":"…"}, got keys text',
    ],
    ['[1,2]', 'expected {"prompt_ids"'],
    ['{"prompt_ids":[1', 'not valid JSON'],
  ])('%s', async (line, message) => {
    const file = write('.jsonl', `${good}\n\n${line}\n`);
    const err = await loadRollouts(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolloutsError);
    expect((err as RolloutsError).line).toBe(3);
    expect((err as Error).message).toContain(`${file}:3: ${message}`);
  });

  it('ids out of the vocabulary, when the vocabulary size is given', async () => {
    const file = write('.jsonl', `${good}\n{"prompt_ids":[1],"completion_ids":[3,512]}\n`);
    await expect(loadRollouts(file, { vocabSize: 512 })).rejects.toThrow(
      `${file}:2: field "completion_ids[1]": token id 512 is out of the vocabulary (vocab_size 512)`,
    );
    expect(await loadRollouts(file, { vocabSize: 513 })).toHaveLength(2);
  });

  it('valid lines of both forms load', async () => {
    const file = write('.jsonl', `${good}\n{"prompt":"","completion":"c"}\n`);
    expect(await loadRollouts(file)).toEqual([
      { kind: 'ids', promptIds: [1, 2], completionIds: [3] },
      { kind: 'text', prompt: '', completion: 'c' },
    ]);
  });
});

describe('loadPrompts names the line or row, the field and what was expected', () => {
  it.each([
    [
      '{"question":"q"}',
      'field "problem" is missing (the row has fields question; choose one with --field)',
    ],
    ['{"problem":7}', 'field "problem": expected a string, got 7'],
    ['{"problem":""}', 'field "problem" is empty; expected a non-empty string'],
    ['"just a string"', 'expected a JSON object with a field "problem", got "just a string"'],
    ['{"problem":', 'not valid JSON'],
  ])('%s', async (line, message) => {
    const file = write('.jsonl', `{"problem":"ok"}\n\n${line}\n`);
    await expect(loadPrompts(file, 'problem')).rejects.toThrow(`${file}:3: ${message}`);
  });

  it('parquet: the bundled pi1_r128 loads; a missing column is named', async () => {
    const file = fileURLToPath(new URL('../../assets/train/pi1_r128.parquet', import.meta.url));
    const prompts = await loadPrompts(file, 'problem');
    expect(prompts.length).toBeGreaterThan(0);
    await expect(loadPrompts(file, 'no_such_column')).rejects.toThrow(
      new RegExp(`${file}: (row 1: field "no_such_column" is missing|.*column 'no_such_column')`),
    );
  });
});
