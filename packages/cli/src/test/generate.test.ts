import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadRollouts } from '@oneshot-em/core/node';
import { writeTinyModel } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { BACKENDS, runCli, runSizeArgs, tmp } from './run-cli.js';

const embedded = join(import.meta.dirname, '../../../core/assets/stories260K');
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

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
    expect(out.completion_ids.length).toBe(40);
    expect(out.finish_reason).toBe('length');
    expect(out.completion.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(
      true,
    );
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
      '--temperature',
      '0.8',
      '--min-p',
      '0.05',
      '--json',
    ];
    const a = runCli(args);
    expect(a.status, a.stderr).toBe(0);
    const lines = jsonLines(a.stdout);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.prompt).toBe('Tom had a red ball');
    expect(lines[0].completion_ids).not.toEqual(lines[1].completion_ids);
    expect(runCli(args).stdout).toBe(a.stdout);
  });
});

describe("generate's defaults come from the model's generation_config.json (as transformers)", () => {
  const model = join(tmp(), 'model');
  cpSync(embedded, model, { recursive: true });
  const settings = {
    temperature: 0.7,
    top_p: 0.9,
    top_k: 20,
    min_p: 0.05,
    repetition_penalty: 1.2,
    max_new_tokens: 9,
  };
  const base = ['generate', '--backend', 'reference', '--prompt', 'Tom had', '--n', '3', '--json'];

  it('no sampling settings in the file: greedy, no repetition penalty', () => {
    const plain = runCli([...base, '--max-new-tokens', '30']);
    expect(plain.status, plain.stderr).toBe(0);
    const explicit = runCli([
      ...base,
      '--max-new-tokens',
      '30',
      '--greedy',
      '--repetition-penalty',
      '1',
    ]);
    expect(plain.stdout).toBe(explicit.stdout);
    // a penalty does change this greedy completion, so the equality above says it was off
    const penalised = runCli([...base, '--max-new-tokens', '30', '--repetition-penalty', '1.5']);
    expect(penalised.stdout).not.toBe(plain.stdout);
  });

  it('do_sample and the sampling fields of the file = the same values as flags; a flag overrides', () => {
    const file = join(model, 'generation_config.json');
    const original = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...original, do_sample: true, ...settings }));
    const fromFile = runCli([...base, '--model', model]);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    const lines = jsonLines(fromFile.stdout);
    expect(lines.map((l) => l.completion_ids.length)).toEqual([9, 9, 9]);
    const asFlags = runCli([
      ...base,
      '--do-sample',
      '--temperature',
      '0.7',
      '--top-p',
      '0.9',
      '--top-k',
      '20',
      '--min-p',
      '0.05',
      '--repetition-penalty',
      '1.2',
      '--max-new-tokens',
      '9',
    ]);
    expect(asFlags.stdout).toBe(fromFile.stdout);
    const greedy = runCli([...base, '--model', model, '--greedy']);
    const greedyFlags = runCli([
      ...base,
      '--greedy',
      '--repetition-penalty',
      '1.2',
      '--max-new-tokens',
      '9',
    ]);
    expect(greedy.stdout).toBe(greedyFlags.stdout);
    expect(greedy.stdout).not.toBe(fromFile.stdout);
  });

  it("generation_config.json's eos_token_id list ends a completion at any of its ids", () => {
    const dir = join(tmp(), 'eos');
    cpSync(embedded, dir, { recursive: true });
    // greedy from BOS: "Once upon a time," is 403 407 261 …; 261 becomes an EOS
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2, 261] }));
    const r = runCli(['generate', '--backend', 'reference', '--model', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      completion_ids: [403, 407, 261],
      finish_reason: 'stop',
    });
  });

  it('a bad value in the file names the file and the field (exit 2)', () => {
    const dir = join(tmp(), 'bad');
    cpSync(embedded, dir, { recursive: true });
    writeFileSync(
      join(dir, 'generation_config.json'),
      JSON.stringify({ do_sample: true, top_p: 2 }),
    );
    const r = runCli(['generate', '--backend', 'reference', '--model', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `${join(dir, 'generation_config.json')}: top_p: expected a number in (0, 1], got 2`,
    );
  });

  it('--system goes through the chat template; a model without one says so', () => {
    const r = runCli(['generate', '--backend', 'reference', '--system', 'Be brief.']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--system needs a chat template');
    // a model with a ChatML template: the system message comes first, then the user's
    const dir = join(tmp(), 'chatml');
    writeTinyModel(dir, { kind: 'qwen2', seed: 1 });
    const g = runCli([
      ...['generate', '--backend', 'reference', '--model', dir, '--max-new-tokens', '1'],
      ...['--system', 'Be brief.', '--prompt', 'Tom had', '--json'],
    ]);
    expect(g.status, g.stderr).toBe(0);
    const text = loadModel(dir).tokenizer.decode(JSON.parse(g.stdout).prompt_ids);
    expect(text).toContain('system\nBe brief.');
    expect(text.indexOf('system\nBe brief.')).toBeLessThan(text.indexOf('user\nTom had'));
  });
});

describe('generate --json is train --rollouts input', () => {
  it('the rollouts parser reads every line back as ids, and train takes the file', async () => {
    const dir = tmp();
    const g = runCli([
      'generate',
      '--backend',
      'reference',
      '--prompt',
      'Tom had',
      '--prompt',
      'The sun',
      '--n',
      '2',
      '--temperature',
      '0.9',
      '--max-new-tokens',
      '10',
      '--json',
    ]);
    expect(g.status, g.stderr).toBe(0);
    const file = join(dir, 'rollouts.jsonl');
    writeFileSync(file, g.stdout);
    const rows = await loadRollouts(file, { vocabSize: 512 });
    const lines = jsonLines(g.stdout);
    expect(rows).toEqual(
      lines.map((l) => ({
        kind: 'ids',
        promptIds: l.prompt_ids,
        completionIds: l.completion_ids,
      })),
    );
    const t = runCli([
      'train',
      '--backend',
      'reference',
      '--rollouts',
      file,
      '--steps',
      '1',
      '--effective-batch',
      '4',
      '--micro-batch',
      '2',
      '--out',
      join(dir, 'run'),
    ]);
    expect(t.status, t.stderr).toBe(0);
  });
});

describe("train --min-p reaches the rollouts (the sampler is generate's)", () => {
  it('min-p 1 keeps only the most likely token: the same run as greedy rollouts', () => {
    const dir = tmp();
    const loss = (extra: string[], name: string) => {
      const out = join(dir, name);
      const size = runSizeArgs({ steps: 1, maxNewTokens: 16 });
      const r = runCli(['train', '--backend', 'reference', ...size, '--out', out, ...extra]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]).loss;
    };
    const greedy = loss(['--temperature', '0'], 'greedy');
    const hot = ['--temperature', '1.5', '--top-p', '1'];
    expect(loss([...hot, '--min-p', '1'], 'min-p-1')).toBe(greedy);
    // the control: the same hot sampling without min-p draws other completions
    expect(loss(hot, 'sampled')).not.toBe(greedy);
  });
});

describe('generate --min-p decodes the same tokens on every backend', () => {
  it('ort and dawn equal the reference for a seed', () => {
    const args = [
      'generate',
      '--prompt',
      'Tom had',
      '--n',
      '4',
      '--temperature',
      '1.5',
      '--min-p',
      '0.2',
      '--max-new-tokens',
      '16',
      '--seed',
      '3',
      '--json',
    ];
    const ids = (backend: string) => {
      const r = runCli([...args, '--backend', backend]);
      expect(r.status, r.stderr).toBe(0);
      return jsonLines(r.stdout).map((l) => l.completion_ids);
    };
    const want = ids('reference');
    for (const backend of BACKENDS) expect(ids(backend), backend).toEqual(want);
    // min-p binds: without it the same seed draws other tokens
    const r = runCli([
      ...args.filter((a) => a !== '--min-p' && a !== '0.2'),
      '--backend',
      'reference',
    ]);
    expect(jsonLines(r.stdout).map((l) => l.completion_ids)).not.toEqual(want);
  });
});
