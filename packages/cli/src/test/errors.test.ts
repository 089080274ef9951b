import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tinyTrainArgs, tmp } from './run-cli.js';

/** Bad input: a clear message on stderr naming what is wrong, and a non-zero exit. */
describe('oneshot-em errors', () => {
  it('unknown flag', () => {
    const r = runCli(['train', '--learning-rate', '1']);
    expect(r.status).toBe(2); // commander's errors are usage errors too
    expect(r.stderr).toMatch(/unknown option '--learning-rate'/);
  });

  it('missing model directory and malformed config.json', () => {
    const r = runCli(['generate', '--model', '/nonexistent/model', '--backend', 'reference']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/nonexistent\/model/);
    const dir = tmp();
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'config.json'), '{"model_type": "llama", "hidden_size": "big"}');
    const r2 = runCli(['generate', '--model', join(dir, 'm'), '--backend', 'reference']);
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/config\.json/);
    expect(r2.stderr).toMatch(/hidden_size/);
  });

  it('unknown objective lists the available ones; a bad parameter shows its range', () => {
    const r = runCli(['train', '--objective', 'entropyy', '--steps', '1', '--out', tmp()]);
    expect(r.status).toBe(2); // an input error
    expect(r.stderr).toMatch(/entropyy/);
    expect(r.stderr).toMatch(/token-entropy/);
    const r2 = runCli([
      'train',
      '--objective',
      'high-entropy-tokens:q=7',
      '--steps',
      '1',
      '--out',
      tmp(),
    ]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/\bq\b/);
  });

  it('a prompt longer than the context', () => {
    const r = runCli([
      'train',
      '--prompt',
      'once upon a time '.repeat(200),
      '--backend',
      'reference',
      '--steps',
      '1',
      '--out',
      tmp(),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/max_position_embeddings|context/);
  });

  it('a --rollouts line that is not one of the two forms, or longer than the context, names the line', () => {
    const dir = tmp();
    const file = join(dir, 'r.jsonl');
    writeFileSync(file, `{"prompt_ids":[1],"completion_ids":[5]}\n{"text":"x"}\n`);
    const r = runCli(['train', '--backend', 'reference', '--rollouts', file, '--out', tmp()]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}:2: expected`);
    writeFileSync(file, `{"prompt_ids":[1],"completion_ids":[${Array(600).fill(5).join(',')}]}\n`);
    const r2 = runCli(['train', '--backend', 'reference', '--rollouts', file, '--out', tmp()]);
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/r\.jsonl:1: prompt \+ completion is 601 tokens/);
  });

  it('a bad config-file value names the file and key', () => {
    const dir = tmp();
    const file = join(dir, 'run.yaml');
    writeFileSync(file, 'effective_batch: -4\n');
    const r = runCli(['train', '--config', file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}: effective_batch:`);
  });

  it('an absurd learning rate stops with the step number and saves nothing for it', () => {
    const out = tmp();
    const r = runCli([
      'train',
      '--optimizer',
      'sgd',
      '--lr',
      '1e38',
      '--clip',
      '0',
      ...tinyTrainArgs(2),
      '--out',
      out,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/step 1: .*not finite/);
    expect(r.stderr).not.toMatch(/saved/);
  });
});
