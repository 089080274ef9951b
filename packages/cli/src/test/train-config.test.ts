import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainOptionsSchema } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli, runSizeArgs, tmp } from './run-cli.js';

/** Two steps on the embedded model, a decaying schedule, every step saved, one kept. */
const RUN = [
  'train',
  '--backend',
  'reference',
  ...runSizeArgs({ effectiveBatch: 4 }),
  '--lr-scheduler-type',
  'linear',
  '--warmup-ratio',
  '0.5',
  '--save-steps',
  '1',
  '--save-total-limit',
  '1',
];

const lines = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A metrics line without what depends on the machine's speed and memory. */
function computed(m: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m))
    if (!k.startsWith('time/') && !['step_time', 'tokens_per_s', 'memory'].includes(k)) out[k] = v;
  return out;
}

describe('train: run_config.yaml, the LR schedule, --save-total-limit, HF checkpoint files', () => {
  const dir = tmp();
  const a = join(dir, 'a');
  const first = runCli([...RUN, '--out', a]);

  it('records every option, the input hashes and versions; the schedule and limit apply', () => {
    expect(first.status, first.stderr).toBe(0);
    const rec = parseYaml(readFileSync(join(a, 'run_config.yaml'), 'utf8'));
    // every option with a value (a default or given) is recorded under its config-file key
    for (const [key, field] of Object.entries(trainOptionsSchema.shape)) {
      if (['resume', 'dryRun', 'json'].includes(key)) continue;
      const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      const parsed = (field as { safeParse(v: unknown): { data?: unknown } }).safeParse(undefined);
      if (parsed.data !== undefined) expect(rec, snake).toHaveProperty(snake);
    }
    expect(rec).toMatchObject({
      lr_scheduler_type: 'linear',
      warmup_ratio: 0.5,
      save_total_limit: 1,
      prompt: expect.any(String), // the embedded demo's prompt, resolved
    });
    for (const k of ['model_config_sha256', 'model_weights_header_sha256', 'prompt_sha256'])
      expect(rec._identity[k], k).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(rec._versions)).toEqual(['oneshot_em', 'node', 'platform']);
    // warmup ceil(2 · 0.5) = 1 update from 0, then linear to 0 at step 2: rates 0, lr
    expect(lines(a).map((m) => m.learning_rate)).toEqual([0, rec.lr]);
    expect(readdirSync(a).sort()).toEqual([
      'final',
      'metrics.jsonl',
      'run.svg',
      'run_config.yaml',
      'step_2',
    ]);
    const hf = JSON.parse(readFileSync(join(a, 'final', 'trainer_state.json'), 'utf8'));
    expect(hf).toMatchObject({ global_step: 2, max_steps: 2, train_batch_size: 2 });
    // the two steps, then HF's end-of-training summary (train_runtime, train_loss, …)
    expect(hf.log_history.map((e: { learning_rate: number }) => e.learning_rate)).toEqual([
      0,
      rec.lr,
      undefined,
    ]);
    expect(hf.log_history[2]).toHaveProperty('train_loss');
    const own = JSON.parse(readFileSync(join(a, 'final', 'oneshot_em_state.json'), 'utf8'));
    expect(own).toMatchObject({ step: 2, lr_scheduler_type: 'linear', warmup_steps: 1 });
  });

  it('train --config <out>/run_config.yaml reproduces the run: the same metrics and weights', () => {
    const b = join(dir, 'b');
    const again = runCli(['train', '--config', join(a, 'run_config.yaml'), '--out', b]);
    expect(again.status, again.stderr).toBe(0);
    expect(lines(b).map(computed)).toEqual(lines(a).map(computed));
    for (const f of ['model.safetensors', 'config.json', 'trainer_state.json']) {
      const x = readFileSync(join(a, 'final', f));
      const y = readFileSync(join(b, 'final', f));
      if (f === 'trainer_state.json') {
        // total_flos and the logged numbers match; only the summary's timings are the machine's
        const timeless = (b: Buffer) => {
          const hf = JSON.parse(b.toString());
          for (const k of ['train_runtime', 'train_samples_per_second', 'train_steps_per_second'])
            delete hf.log_history.at(-1)[k];
          return hf;
        };
        expect(timeless(y)).toEqual(timeless(x));
      } else expect(y.equals(x), f).toBe(true);
    }
  });

  it('--config with other inputs than recorded is refused naming the hash; a decaying schedule guards --steps on resume', () => {
    const rec = readFileSync(join(a, 'run_config.yaml'), 'utf8');
    const edited = join(dir, 'edited.yaml');
    writeFileSync(edited, rec.replace(/prompt: .*/, 'prompt: Once upon a time'));
    const r = runCli(['train', '--config', edited, '--out', join(dir, 'c')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('_identity.prompt_sha256');
    expect(r.stderr).toContain('--allow-config-change');
    const longer = runCli(['train', '--resume', join(a, 'step_2'), '--steps', '4']);
    expect(longer.status).toBe(2);
    expect(longer.stderr).toContain('steps: 2 → 4');
  });

  it('train --help lists the schedule and checkpoint-limit flags', () => {
    const help = runCli(['train', '--help']).stdout;
    for (const flag of ['--lr-scheduler-type', '--warmup-steps', '--warmup-ratio'])
      expect(help).toContain(flag);
    expect(help).toContain('--save-total-limit');
    expect(help).toMatch(/constant_with_warmup/);
  });
});
