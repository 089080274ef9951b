import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBenchmark } from './load-benchmark.js';
import { buildEvalPrompt } from './prompt.js';
import { PROBLEMS_FILE, RESULTS_FILE, runEval } from './run-eval.js';

describe('runEval with problems that cannot run', () => {
  it('records each as its error, goes on with the others, and counts them', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'oneshot-em-eval-'));
    const problems = loadBenchmark('gsm8k', { limit: 4 });
    const bad = new Set([1, 2].map((i) => buildEvalPrompt(problems[i].question)));
    const ref = new Map(problems.map((p) => [buildEvalPrompt(p.question), p.reference]));
    const results = await runEval({
      benchmarks: ['gsm8k'],
      limit: 4,
      batchSize: 3, // one bad problem in each batch
      outDir,
      generate: async (prompts) =>
        prompts.map((p) =>
          bad.has(p)
            ? new Error('prompt is 9000 tokens; the context is 4096')
            : [`\\boxed{${ref.get(p)}}`],
        ),
    });
    expect(results.errors).toBe(2);
    expect(results.benchmarks[0]).toMatchObject({ problems: 4, errors: 2, pass1: 0.5 });
    const records = readFileSync(join(outDir, PROBLEMS_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.error)).toEqual([
      undefined,
      'prompt is 9000 tokens; the context is 4096',
      'prompt is 9000 tokens; the context is 4096',
      undefined,
    ]);
    expect(records[1].samples).toEqual([
      { output: '', extracted: '', correct: false, reason: 'error' },
    ]);
    expect(JSON.parse(readFileSync(join(outDir, RESULTS_FILE), 'utf8')).errors).toBe(2);

    // a resume keeps the error records (same n) and asks the model nothing more
    let asked = 0;
    const again = await runEval({
      benchmarks: ['gsm8k'],
      limit: 4,
      outDir,
      resume: true,
      generate: async (prompts) => {
        asked += prompts.length;
        return prompts.map(() => ['']);
      },
    });
    expect(asked).toBe(0);
    expect(again.errors).toBe(2);
  });

  it('a chat template that throws on one problem records that problem and goes on', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'oneshot-em-eval-'));
    const problems = loadBenchmark('gsm8k', { limit: 3 });
    let asked = 0;
    const results = await runEval({
      benchmarks: ['gsm8k'],
      limit: 3,
      outDir,
      applyChatTemplate: (messages) => {
        const text = messages.map((m) => m.content).join('\n');
        if (text.includes(problems[1].question)) throw new Error('output over the 16 Mi cap');
        return text;
      },
      generate: async (prompts) => {
        asked += prompts.length;
        return prompts.map(() => ['\\boxed{0}']);
      },
    });
    expect(asked).toBe(2);
    expect(results.errors).toBe(1);
    const records = readFileSync(join(outDir, PROBLEMS_FILE), 'utf8').trim().split('\n');
    expect(JSON.parse(records[1]).error).toBe('chat template: output over the 16 Mi cap');
  });
});
