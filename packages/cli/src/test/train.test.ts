import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpointState, loadHfModel } from '@oneshot-em/core/node';
import { describe, expect, it } from 'vitest';
import { BACKENDS, runCli, runSizeArgs, tmp } from './run-cli.js';

/** The main job, small: the embedded model's held-out entropy goes down on every backend. */
const SMALL = [
  '--steps',
  '10',
  '--effective-batch',
  '8',
  '--micro-batch',
  '8',
  '--max-new-tokens',
  '32',
];

function entropies(stderr: string): { before: number; after: number } {
  const before = /entropy \(T=1\) before: ([\d.]+)/.exec(stderr);
  const after = /entropy \(T=1\) after: +([\d.]+)/.exec(stderr);
  if (!before || !after) throw new Error(`no before/after entropy in:\n${stderr}`);
  return { before: Number(before[1]), after: Number(after[1]) };
}

describe.each(BACKENDS)('oneshot-em train --backend %s', (backend) => {
  it('10 EM steps on stories260K lower the mean token entropy on held-out prompts', () => {
    const out = tmp();
    const r = runCli(['train', '--backend', backend, ...SMALL, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { before, after } = entropies(r.stderr);
    expect(after).toBeLessThan(before);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10);
    const keys = ['loss', 'entropy', 'grad_norm', 'learning_rate', 'num_tokens', 'tokens_per_s'];
    keys.push('completions/mean_length', 'completions/clipped_ratio', 'step_time', 'time/rollout');
    for (const key of keys) expect(Object.keys(JSON.parse(lines[0]))).toContain(key);
    // num_tokens is cumulative: prompt + completion tokens of every step so far
    const counts = lines.map((l) => JSON.parse(l).num_tokens as number);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
    expect(readFileSync(join(out, 'run.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'final', 'tokenizer.json'))).toBe(true);
  });
});

describe('--rollouts: the same completions give the same update on every backend', () => {
  // SGD makes the update proportional to the gradient, so this compares the gradients of the whole
  // pipeline. AdamW's first update is ≈ lr·sign(g) per element, which turns float-rounding noise
  // in near-zero gradients into full-size differences; its arithmetic is checked per op by each
  // backend's conformance suite instead.
  it('ORT, Dawn and the CPU reference agree on the updated weights (relative ≤ 1e-4)', () => {
    const dir = tmp();
    const file = join(dir, 'rollouts.jsonl');
    const rows = [
      { prompt_ids: [1, 403, 407], completion_ids: [261, 378, 29, 2] },
      { prompt_ids: [1, 403], completion_ids: [407, 261, 378, 11, 45, 2] },
      { prompt: 'Tom had a', completion: ' big red ball. He liked to play.' },
      { prompt: 'The sun', completion: ' was hot and the sky was blue.' },
    ];
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const finals: Record<string, Map<string, Float32Array>> = {};
    for (const backend of ['reference', ...BACKENDS]) {
      const out = join(dir, backend);
      const r = runCli([
        'train',
        '--backend',
        backend,
        '--rollouts',
        file,
        '--steps',
        '2',
        '--effective-batch',
        '4',
        '--micro-batch',
        '2',
        '--optimizer',
        'sgd',
        '--lr',
        '1e-2',
        '--out',
        out,
      ]);
      expect(r.status, r.stderr).toBe(0);
      finals[backend] = loadHfModel(join(out, 'final')).weights;
    }
    const base = loadHfModel(join(import.meta.dirname, '../../../core/assets/stories260K')).weights;
    for (const backend of BACKENDS) {
      for (const [name, ref] of finals.reference) {
        const got = finals[backend].get(name)!;
        const b = base.get(name)!;
        // compare the updates (w − w0), relative to the reference update's norm
        let num = 0;
        let den = 0;
        for (let i = 0; i < ref.length; i++) {
          const d = got[i] - b[i] - (ref[i] - b[i]);
          num += d * d;
          den += (ref[i] - b[i]) ** 2;
        }
        const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
        expect(rel, `${backend} ${name}: relative update difference`).toBeLessThanOrEqual(1e-4);
      }
    }
  });
});

describe.each(BACKENDS)('--resume (--backend %s)', (backend) => {
  it('resuming from step 1 of a sharded bf16 save equals the uninterrupted run', () => {
    const dir = tmp();
    const args = [
      'train',
      '--backend',
      backend,
      '--steps',
      '3',
      '--effective-batch',
      '4',
      '--micro-batch',
      '2',
      '--max-new-tokens',
      '16',
      '--save-steps',
      '1',
      // the weights in bf16, every tensor set in ~100 KB shards; resume reads the f32 masters
      '--save-dtype',
      'bf16',
      '--max-shard-size',
      '100KB',
    ];
    const full = runCli([...args, '--out', join(dir, 'full')]);
    expect(full.status, full.stderr).toBe(0);
    const resumed = runCli([
      ...args,
      '--out',
      join(dir, 'resumed'),
      '--resume',
      join(dir, 'full', 'step_1'),
    ]);
    expect(resumed.status, resumed.stderr).toBe(0);
    const step1 = readdirSync(join(dir, 'full', 'step_1'));
    for (const set of ['model', 'optimizer', 'master_weights']) {
      expect(step1).toContain(`${set}.safetensors.index.json`);
      const shards = step1.filter((f) =>
        new RegExp(`^${set}-\\d{5}-of-\\d{5}\\.safetensors$`).test(f),
      );
      expect(shards.length, set).toBeGreaterThan(2);
      expect(shards, set).toContain(
        `${set}-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`,
      );
    }
    const a = loadHfModel(join(dir, 'full', 'final'));
    const b = loadHfModel(join(dir, 'resumed', 'final')).weights;
    expect(a.config.torchDtype).toBe('bfloat16');
    for (const [name, w] of a.weights) expect(b.get(name), name).toEqual(w);
    const ma = loadCheckpointState(join(dir, 'full', 'final'), a.config).masterWeights;
    const mb = loadCheckpointState(join(dir, 'resumed', 'final'), a.config).masterWeights;
    expect(ma?.size).toBe(a.weights.size);
    for (const [name, w] of ma ?? []) expect(mb?.get(name), name).toEqual(w);
  });
});

describe('--max-shard-size', () => {
  it('a size it cannot read is an error naming the key, before anything runs', () => {
    const r = runCli(['train', '--max-shard-size', '5XB', '--out', tmp()]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--max-shard-size: expected a size such as 500MB, 5GB, 2GiB, 100KB');
  });
});

describe.each(BACKENDS)(
  'a plugin objective that exists only as TypeScript (--backend %s)',
  (backend) => {
    it('trains through the backend, loaded by path with parameters', () => {
      // inside the workspace, so that the plugin resolves @oneshot-em/core and zod like a user's would
      const dir = mkdtempSync(join(import.meta.dirname, '..', '..', '.tmp-plugin-'));
      const plugin = join(dir, 'renyi-2.ts');
      // the README's example, verbatim
      writeFileSync(
        plugin,
        `import { defineObjective } from '@oneshot-em/core';
import { z } from 'zod';

export default defineObjective({
  name: 'renyi-2',
  description: 'Rényi-2 entropy −log Σ p² over completion tokens',
  params: z.object({ temperature: z.number().positive().default(0.5).describe('softmax temperature (> 0)') }),
  stats: (p) => ({ temperature: p.temperature, stats: ['s2'] }),
  loss: (ctx) => ctx.ops.maskedMean(ctx.ops.neg(ctx.ops.log(ctx.stat('s2'))), ctx.completionMask('paper')),
});
`,
      );
      const out = join(dir, 'out');
      const r = runCli([
        'train',
        '--backend',
        backend,
        '--objective',
        `${plugin}:temperature=0.7`,
        ...runSizeArgs({ effectiveBatch: 4, microBatch: 4, maxNewTokens: 16 }),
        '--out',
        out,
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('objective renyi-2 {"temperature":0.7}');
      const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2);
      for (const m of lines) expect(Number.isFinite(m.loss) && m.grad_norm > 0).toBe(true);
    });
  },
);
