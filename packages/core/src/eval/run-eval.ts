// The evaluation loop, independent of any backend: prompts go to a `generate` function in
// batches, every problem's graded samples are appended to problems.jsonl as soon as its batch
// is done (so an interrupted run resumes where it stopped), and results.json holds the table.

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { EvalProblem, LoadBenchmarkOptions } from './benchmarks.js';
import { extractAnswer } from './extract.js';
import { grade } from './grade.js';
import { loadBenchmark } from './load-benchmark.js';
import {
  benchmarkAccuracy,
  type EvalResults,
  type ProblemRecord,
  summarizeResults,
} from './metrics.js';
import { type ApplyChatTemplate, buildEvalPrompt, truncateAtStop } from './prompt.js';
import { formatResultsJson } from './report.js';

export const PROBLEMS_FILE = 'problems.jsonl';
export const RESULTS_FILE = 'results.json';

export interface RunEvalOptions {
  benchmarks: string[];
  /** First `limit` problems of each benchmark. */
  limit?: number;
  /** Samples per problem (1 = greedy). */
  n?: number;
  /**
   * For each prompt, its `n` completions (without the prompt), or an Error for a prompt that
   * cannot run (too long for the context, a tokenizer error): that problem is recorded with its
   * error and the eval goes on. A call that throws stops the eval (a backend failure); what was
   * written resumes.
   */
  generate: (prompts: string[]) => Promise<(string[] | Error)[]>;
  outDir: string;
  /** Keep problems already in outDir/problems.jsonl and generate only the rest. */
  resume?: boolean;
  /** Prompts per `generate` call. Default 16. */
  batchSize?: number;
  /** The model's chat template; the harness's ChatML string without one. */
  applyChatTemplate?: ApplyChatTemplate;
  /** Per-answer grading time limit (ms). */
  timeLimitMs?: number;
  onProgress?: (progress: { benchmark: string; done: number; total: number }) => void;
  /** Where problems come from; the bundled files by default. */
  loadProblems?: (name: string, options: LoadBenchmarkOptions) => EvalProblem[];
}

const key = (benchmark: string, id: string) => `${benchmark}\u0000${id}`;

/** Records already written; drops a partial last line left by an interruption. */
function readDone(path: string, n: number): Map<string, ProblemRecord> {
  const done = new Map<string, ProblemRecord>();
  if (!existsSync(path)) return done;
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete));
  for (const [i, line] of complete.split('\n').entries()) {
    if (line === '') continue;
    let record: ProblemRecord;
    try {
      record = JSON.parse(line) as ProblemRecord;
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof record.benchmark !== 'string' || typeof record.id !== 'string') {
      throw new Error(`${path}:${i + 1}: fields "benchmark" and "id" should be strings`);
    }
    if (!Array.isArray(record.samples) || record.samples.length !== n) {
      throw new Error(
        `${path}:${i + 1}: field "samples" has ${record.samples?.length} samples but this run asks for n = ${n}; resume with the same n or use another output directory`,
      );
    }
    done.set(key(record.benchmark, record.id), record);
  }
  return done;
}

function appendLines(path: string, records: ProblemRecord[]): void {
  try {
    const fd = openSync(path, 'a');
    try {
      writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    // disk full, permission denied: name the file (the lines before this batch stay whole)
    throw new Error(`${path}: cannot append the graded problems (${(e as Error).message})`);
  }
}

/** A problem that could not run: recorded with its error; its samples count as wrong. */
export interface ErrorRecord extends ProblemRecord {
  error: string;
}

function errorRecord(
  benchmark: string,
  problem: EvalProblem,
  prompt: string,
  n: number,
  error: string,
): ErrorRecord {
  return {
    benchmark,
    id: problem.id,
    prompt,
    reference: problem.reference,
    error,
    samples: Array.from({ length: n }, () => ({
      output: '',
      extracted: '',
      correct: false,
      reason: 'error',
    })),
  };
}

function checkCompletions(
  completions: unknown,
  prompts: number,
  n: number,
): asserts completions is (string[] | Error)[] {
  if (!Array.isArray(completions) || completions.length !== prompts) {
    throw new Error(
      `generate returned ${Array.isArray(completions) ? completions.length : typeof completions} results for ${prompts} prompts`,
    );
  }
  for (const [i, outputs] of completions.entries()) {
    if (outputs instanceof Error) continue;
    if (
      !Array.isArray(outputs) ||
      outputs.length !== n ||
      outputs.some((o) => typeof o !== 'string')
    ) {
      throw new Error(
        `generate returned ${JSON.stringify(outputs)?.slice(0, 80)} for prompt ${i}; expected ${n} strings`,
      );
    }
  }
}

/** Evaluate, writing outDir/problems.jsonl and outDir/results.json; returns the results. */
export async function runEval(options: RunEvalOptions): Promise<EvalResults & { errors: number }> {
  const n = options.n ?? 1;
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`n should be a positive integer, got ${n}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`batchSize should be a positive integer, got ${batchSize}`);
  if (options.benchmarks.length === 0)
    throw new Error('benchmarks should name at least one benchmark');
  const load = options.loadProblems ?? loadBenchmark;
  const sets = options.benchmarks.map((name) => ({
    name,
    problems: load(name, { limit: options.limit }),
  }));

  mkdirSync(options.outDir, { recursive: true });
  const jsonlPath = join(options.outDir, PROBLEMS_FILE);
  if (!options.resume) writeFileSync(jsonlPath, '');
  const done = readDone(jsonlPath, n);

  for (const { name, problems } of sets) {
    const todo = problems.filter((p) => !done.has(key(name, p.id)));
    let finished = problems.length - todo.length;
    options.onProgress?.({ benchmark: name, done: finished, total: problems.length });
    for (let start = 0; start < todo.length; start += batchSize) {
      const batch = todo.slice(start, start + batchSize);
      // a chat template that fails on one problem (its output limit, say) is that problem's error
      const built = batch.map((p) => {
        try {
          return buildEvalPrompt(p.question, options.applyChatTemplate);
        } catch (e) {
          return new Error(`chat template: ${(e as Error)?.message ?? String(e)}`);
        }
      });
      const prompts = built.map((b) => (b instanceof Error ? '' : b));
      const runnable = prompts.filter((_, i) => !(built[i] instanceof Error));
      const generated = runnable.length ? await options.generate(runnable) : [];
      checkCompletions(generated, runnable.length, n);
      const completions = built.map((b) => (b instanceof Error ? b : generated.shift()));
      const records = batch.map((problem, i): ProblemRecord => {
        const c = completions[i] as string[] | Error;
        if (c instanceof Error) return errorRecord(name, problem, prompts[i], n, c.message);
        return {
          benchmark: name,
          id: problem.id,
          prompt: prompts[i],
          reference: problem.reference,
          samples: c
            .map((o) => truncateAtStop(o))
            .map((output) => {
              const extracted = extractAnswer(output);
              return {
                output,
                extracted,
                ...grade(extracted, problem.reference, { timeLimitMs: options.timeLimitMs }),
              };
            }),
        };
      });
      appendLines(jsonlPath, records);
      for (const r of records) done.set(key(name, r.id), r);
      finished += batch.length;
      options.onProgress?.({ benchmark: name, done: finished, total: problems.length });
    }
  }

  const isError = (r: ProblemRecord | undefined) => r !== undefined && 'error' in r;
  const summary = summarizeResults(
    sets.map(({ name, problems }) => {
      const records = problems.map((p) => done.get(key(name, p.id)) as ProblemRecord);
      // problems that could not run count as wrong; `errors` says how many they were
      return { ...benchmarkAccuracy(name, records, n), errors: records.filter(isError).length };
    }),
    n,
  );
  const errors = sets.reduce(
    (k, { name, problems }) =>
      k + problems.filter((p) => isError(done.get(key(name, p.id)))).length,
    0,
  );
  const results = { ...summary, errors };
  const resultsPath = join(options.outDir, RESULTS_FILE);
  try {
    writeFileSync(`${resultsPath}.tmp`, formatResultsJson(results));
    renameSync(`${resultsPath}.tmp`, resultsPath);
  } catch (e) {
    throw new Error(`${resultsPath}: cannot write the results (${(e as Error).message})`);
  }
  return results;
}
