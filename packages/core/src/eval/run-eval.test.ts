import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBenchmark } from './load-benchmark.js';
import { majorityCorrect, type ProblemRecord, passAtK } from './metrics.js';
import { buildEvalPrompt } from './prompt.js';
import { formatResultsMarkdown, formatResultsTable } from './report.js';
import { PROBLEMS_FILE, RESULTS_FILE, runEval } from './run-eval.js';
import { snakeCaseKeys } from '../io/json-keys.js';

const BENCHMARKS = ['math500', 'gsm8k', 'aime24'];
const LIMIT = 5;

/**
 * A deterministic stand-in for a model: for the i-th problem of its benchmark it answers the
 * reference in \boxed{} when i is even and a wrong number when i is odd.
 */
function stubModel() {
  const byPrompt = new Map<string, { index: number; reference: string }>();
  for (const name of BENCHMARKS) {
    for (const [index, p] of loadBenchmark(name, { limit: LIMIT }).entries()) {
      byPrompt.set(buildEvalPrompt(p.question), { index, reference: p.reference });
    }
  }
  const asked: string[] = [];
  const answer = (prompt: string, correct: (index: number) => boolean) => {
    const problem = byPrompt.get(prompt);
    if (!problem) throw new Error(`stub model got an unknown prompt: ${prompt.slice(0, 80)}`);
    // Text after a stop string (a backend stopping only at EOS may produce it) must be ignored.
    return correct(problem.index)
      ? `Step by step... so $\\boxed{${problem.reference}}$.<|im_end|>\\boxed{0}`
      : 'I think it is \\boxed{-98765}.';
  };
  return {
    asked,
    byPrompt,
    greedy: async (prompts: string[]) => {
      asked.push(...prompts);
      return prompts.map((p) => [answer(p, (i) => i % 2 === 0)]);
    },
    answer,
  };
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'oneshot-em-eval-'));
const readRecords = (dir: string) =>
  readFileSync(join(dir, PROBLEMS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ProblemRecord);

describe('runEval', () => {
  it('grades a stub model: table, JSONL and results.json', async () => {
    const outDir = tempDir();
    const model = stubModel();
    const results = await runEval({
      benchmarks: BENCHMARKS,
      limit: LIMIT,
      generate: model.greedy,
      outDir,
      batchSize: 2,
    });
    // Indices 0, 2, 4 of 5 are answered correctly in every benchmark.
    expect(results.benchmarks.map((b) => [b.benchmark, b.problems, b.pass1])).toEqual([
      ['math500', 5, 0.6],
      ['gsm8k', 5, 0.6],
      ['aime24', 5, 0.6],
    ]);
    expect(results.average.pass1).toBeCloseTo(0.6, 12);
    expect(results.average.passK).toBeUndefined();
    // the file's keys are snake_case (pass_k, maj_k), the object's camelCase
    expect(JSON.parse(readFileSync(join(outDir, RESULTS_FILE), 'utf8'))).toEqual(
      snakeCaseKeys(results),
    );

    const records = readRecords(outDir);
    expect(records.length).toBe(15);
    const first = records[0];
    expect(first.benchmark).toBe('math500');
    expect(first.id).toBe('test/precalculus/807.json');
    expect(first.prompt).toBe(buildEvalPrompt(loadBenchmark('math500', { limit: 1 })[0].question));
    expect(first.samples).toEqual([
      {
        output: String.raw`Step by step... so $\boxed{\left( 3, \frac{\pi}{2} \right)}$.`,
        extracted: String.raw`\left( 3, \frac{\pi}{2} \right)`,
        correct: true,
        reason: 'string',
      },
    ]);
    expect(records[1].samples[0]).toMatchObject({ extracted: '-98765', correct: false });

    expect(formatResultsTable(results)).toBe(
      [
        'benchmark  problems  pass@1',
        '---------  --------  ------',
        'math500           5    60.0',
        'gsm8k             5    60.0',
        'aime24            5    60.0',
        '---------  --------  ------',
        'average          15    60.0',
      ].join('\n'),
    );
    expect(formatResultsMarkdown(results)).toBe(
      [
        '| benchmark | problems | pass@1 |',
        '| --- | ---: | ---: |',
        '| math500 | 5 | 60.0 |',
        '| gsm8k | 5 | 60.0 |',
        '| aime24 | 5 | 60.0 |',
        '| **average** | **15** | **60.0** |',
      ].join('\n'),
    );
  });

  it('reports pass@k and maj@k over samples', async () => {
    const model = stubModel();
    // Even problems: [right, right, wrong] → majority right; odd: [wrong, right, other wrong] → a
    // three-way tie, the first (wrong) answer wins.
    const generate = async (prompts: string[]) =>
      prompts.map((p) => {
        const even = (model.byPrompt.get(p)?.index ?? 0) % 2 === 0;
        const right = model.answer(p, () => true);
        return even ? [right, right, '\\boxed{-1}'] : ['\\boxed{-1}', right, '\\boxed{-2}'];
      });
    const results = await runEval({
      benchmarks: ['math500'],
      limit: 4,
      n: 3,
      generate,
      outDir: tempDir(),
    });
    const [math] = results.benchmarks;
    expect(math.pass1).toBeCloseTo((2 / 3 + 1 / 3) / 2, 12);
    expect(math.passK).toBe(1);
    expect(math.majK).toBe(0.5);
    expect(results.average).toEqual({ pass1: math.pass1, passK: 1, majK: 0.5 });
    expect(formatResultsTable(results).split('\n')[0]).toBe(
      'benchmark  problems  pass@1  pass@3  maj@3',
    );
  });

  it('resumes after an interruption with the same result and no duplicate lines', async () => {
    const reference = await runEval({
      benchmarks: BENCHMARKS,
      limit: LIMIT,
      generate: stubModel().greedy,
      outDir: tempDir(),
      batchSize: 2,
    });

    const outDir = tempDir();
    const first = stubModel();
    let calls = 0;
    const failing = async (prompts: string[]) => {
      if (++calls === 5) throw new Error('killed');
      return first.greedy(prompts);
    };
    await expect(
      runEval({ benchmarks: BENCHMARKS, limit: LIMIT, generate: failing, outDir, batchSize: 2 }),
    ).rejects.toThrow('killed');
    const before = readRecords(outDir);
    expect(before.length).toBe(7); // math500's 3 batches (2+2+1), gsm8k's first batch
    appendFileSync(join(outDir, PROBLEMS_FILE), '{"benchmark":"gsm8k","id":"2","pro'); // torn write

    const second = stubModel();
    const resumed = await runEval({
      benchmarks: BENCHMARKS,
      limit: LIMIT,
      generate: second.greedy,
      outDir,
      batchSize: 2,
      resume: true,
    });
    expect(second.asked.length).toBe(15 - 7);
    expect(second.asked.some((p) => before.some((r) => r.prompt === p))).toBe(false);
    expect(resumed).toEqual(reference);
    const after = readRecords(outDir);
    const keys = after.map((r) => `${r.benchmark}/${r.id}`);
    expect(new Set(keys).size).toBe(15);
    expect(after.slice(0, 7)).toEqual(before);
  });

  it('refuses to resume with a different number of samples', async () => {
    const outDir = tempDir();
    await runEval({ benchmarks: ['aime24'], limit: 2, generate: stubModel().greedy, outDir });
    const generate = async (prompts: string[]) => prompts.map(() => ['a', 'b']);
    await expect(
      runEval({ benchmarks: ['aime24'], limit: 3, n: 2, generate, outDir, resume: true }),
    ).rejects.toThrow(
      /problems\.jsonl:1: field "samples" has 1 samples but this run asks for n = 2/,
    );
  });

  it('names the line of a corrupt JSONL when resuming', async () => {
    const outDir = tempDir();
    await runEval({ benchmarks: ['aime24'], limit: 2, generate: stubModel().greedy, outDir });
    appendFileSync(join(outDir, PROBLEMS_FILE), 'garbage\n');
    await expect(
      runEval({
        benchmarks: ['aime24'],
        limit: 3,
        generate: stubModel().greedy,
        outDir,
        resume: true,
      }),
    ).rejects.toThrow(/problems\.jsonl:3: not valid JSON/);
  });

  it('rejects a generate function that returns the wrong number of completions', async () => {
    const generate = async (prompts: string[]) => prompts.map(() => ['only one']);
    await expect(
      runEval({ benchmarks: ['aime24'], limit: 2, n: 2, generate, outDir: tempDir() }),
    ).rejects.toThrow('generate returned ["only one"] for prompt 0; expected 2 strings');
  });
});

describe('majorityCorrect', () => {
  const sample = (extracted: string, correct: boolean) => ({
    output: '',
    extracted,
    correct,
    reason: '',
  });
  it('pools equivalent answers before counting votes', () => {
    // By string: x+5 has 2 votes, each form of 2(x+1) one. By value: 2(x+1) has 3.
    const samples = [
      sample('2(x+1)', true),
      sample('2x+2', true),
      sample('x+5', false),
      sample('x+5', false),
      sample('(x+1)\\cdot 2', true),
    ];
    expect(majorityCorrect(samples)).toBe(true);
    expect(majorityCorrect(samples.slice(0, 4))).toBe(true); // 2–2 tie: the first seen wins
    expect(majorityCorrect(samples.slice(1, 4))).toBe(false);
    expect(majorityCorrect([sample('', false), sample('', false), sample('3', true)])).toBe(true);
    expect(majorityCorrect([sample('', false)])).toBe(false);
  });
});

describe('passAtK', () => {
  it('matches the combinatorial definition', () => {
    expect(passAtK(3, 1, 1)).toBeCloseTo(1 / 3, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12); // 1 − C(3,2)/C(5,2)
    expect(passAtK(4, 0, 4)).toBe(0);
    expect(passAtK(4, 1, 4)).toBe(1);
  });
});
