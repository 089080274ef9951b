import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmp } from './run-cli.js';

const embedded = join(import.meta.dirname, '../../../core/assets/stories260K');

describe('oneshot-em convert llama2c', () => {
  it('writes the HF directory the project embeds, and that directory generates the known story', () => {
    const out = join(tmp(), 'hf');
    const r = runCli([
      'convert',
      'llama2c',
      '--checkpoint',
      join(embedded, 'llama2c/stories260K.bin'),
      '--tokenizer',
      join(embedded, 'llama2c/tok512.bin'),
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    // the embedded directory is this conversion plus the originals and their provenance
    for (const f of readdirSync(out)) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(embedded, f))), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).architectures).toEqual([
      'LlamaForCausalLM',
    ]);
    const g = runCli([
      'generate',
      '--model',
      out,
      '--backend',
      'reference',
      '--greedy',
      '--max-new-tokens',
      '20',
    ]);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
  });

  it('names the file that cannot be read', () => {
    const r = runCli([
      'convert',
      'llama2c',
      '--checkpoint',
      '/no/such.bin',
      '--tokenizer',
      '/no/tok.bin',
      '--out',
      tmp(),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/no\/such\.bin/);
  });
});
