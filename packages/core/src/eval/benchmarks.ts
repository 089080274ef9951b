// The evaluation sets and how each file's fields map to { id, question, reference }
// (see assets/eval/README.md). Parsing is pure; `loadBenchmark` in load-benchmark.ts reads
// the bundled files.

import { lastBoxed } from './extract.js';

export interface EvalProblem {
  /** Unique within its benchmark (the set's own id field, else the row number). */
  id: string;
  question: string;
  /** The reference answer as LaTeX/plain text, ready for `grade`. */
  reference: string;
}

type Row = Record<string, unknown>;

interface BenchmarkSpec {
  /** Field holding the id; the row number when absent. */
  id?: string;
  /** Fields that may hold the question, first present wins (the harness's order). */
  question: string[];
  reference: (row: Row, where: string) => string;
  /** Data file under assets/eval/ (a set may reuse another's file). */
  file: string;
  /** Copies of every problem (the harness's amc23x8 runs amc23 eight times). */
  copies?: number;
}

function field(row: Row, name: string, where: string): unknown {
  if (!(name in row)) throw new Error(`${where}: missing field "${name}"`);
  return row[name];
}

function text(row: Row, name: string, where: string): string {
  const value = field(row, name, where);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new Error(
    `${where}: field "${name}" should be a string or number, got ${JSON.stringify(value)}`,
  );
}

const plainAnswer = (row: Row, where: string) => text(row, 'answer', where);

const amc23: BenchmarkSpec = {
  id: 'id',
  question: ['question', 'problem'],
  reference: plainAnswer,
  file: 'amc23',
};

/** The registry: every benchmark name `loadBenchmark` accepts. */
export const BENCHMARKS: Readonly<Record<string, BenchmarkSpec>> = {
  math500: { id: 'unique_id', question: ['problem'], reference: plainAnswer, file: 'math500' },
  minerva_math: {
    id: 'idx',
    question: ['problem'],
    reference: (row, where) => {
      const boxed = lastBoxed(text(row, 'solution', where));
      if (boxed === undefined)
        throw new Error(`${where}: field "solution" has no \\boxed{…} answer`);
      return boxed;
    },
    file: 'minerva_math',
  },
  olympiadbench: {
    id: 'id',
    question: ['question'],
    reference: (row, where) => {
      const answers = field(row, 'final_answer', where);
      if (!Array.isArray(answers) || typeof answers[0] !== 'string') {
        throw new Error(`${where}: field "final_answer" should be a list of strings`);
      }
      return answers[0].trim().replace(/^\$+|\$+$/g, '');
    },
    file: 'olympiadbench',
  },
  amc23,
  amc23x8: { ...amc23, copies: 8 },
  aime24: { id: 'id', question: ['problem', 'question'], reference: plainAnswer, file: 'aime24' },
  aime25: { question: ['problem'], reference: plainAnswer, file: 'aime25' },
  gsm8k: {
    id: 'idx',
    question: ['question'],
    reference: (row, where) => {
      const answer = text(row, 'answer', where);
      const at = answer.lastIndexOf('####');
      if (at < 0) throw new Error(`${where}: field "answer" has no "####" final answer`);
      return answer.slice(at + 4).trim();
    },
    file: 'gsm8k',
  },
};

/** The sets the One-shot EM paper averages over. */
export const PAPER_BENCHMARKS = [
  'math500',
  'minerva_math',
  'olympiadbench',
  'amc23',
  'aime24',
] as const;

export function benchmarkSpec(name: string): BenchmarkSpec {
  const spec = BENCHMARKS[name];
  if (!spec) {
    throw new Error(
      `unknown benchmark "${name}"; expected one of: ${Object.keys(BENCHMARKS).join(', ')}`,
    );
  }
  return spec;
}

export interface LoadBenchmarkOptions {
  /** Keep only the first `limit` problems (after amc23x8's copies). */
  limit?: number;
}

/** Parse a benchmark's JSONL text (`source` names the file in errors). */
export function parseBenchmark(
  name: string,
  jsonl: string,
  source: string,
  options: LoadBenchmarkOptions = {},
): EvalProblem[] {
  const spec = benchmarkSpec(name);
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) {
    throw new Error(`limit should be a non-negative integer, got ${options.limit}`);
  }
  const problems: EvalProblem[] = [];
  const seen = new Set<string>();
  const lines = jsonl.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `${source}:${index + 1}`;
    let row: Row;
    try {
      row = JSON.parse(line) as Row;
    } catch (error) {
      throw new Error(`${where}: not valid JSON (${(error as Error).message})`);
    }
    const questionField = spec.question.find((f) => typeof row[f] === 'string');
    if (!questionField)
      throw new Error(`${where}: missing field "${spec.question.join('" or "')}"`);
    const id = spec.id ? text(row, spec.id, where) : String(problems.length);
    if (seen.has(id)) throw new Error(`${where}: duplicate id "${id}" in field "${spec.id}"`);
    seen.add(id);
    problems.push({
      id,
      question: row[questionField] as string,
      reference: spec.reference(row, where).trim(),
    });
  }
  const copies = spec.copies ?? 1;
  const all =
    copies === 1
      ? problems
      : Array.from({ length: copies }, (_, copy) =>
          problems.map((p) => ({ ...p, id: `${copy}:${p.id}` })),
        ).flat();
  return options.limit === undefined ? all : all.slice(0, options.limit);
}
