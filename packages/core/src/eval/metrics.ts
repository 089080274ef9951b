// Accuracy over graded samples: pass@1 averaged over samples, pass@k (unbiased estimator of
// Chen et al. 2021, with k = n it is "any sample correct"), and maj@k (majority vote over
// equivalent extracted answers), per benchmark and as the unweighted mean over benchmarks.

import { type GradeOptions, grade } from './grade.js';
import { normalizeAnswer } from './normalize.js';

/** One generated completion, graded. */
export interface GradedSample {
  output: string;
  extracted: string;
  correct: boolean;
  reason: string;
}

/** One line of the evaluation JSONL: a problem and its graded samples. */
export interface ProblemRecord {
  benchmark: string;
  id: string;
  prompt: string;
  reference: string;
  samples: GradedSample[];
}

export interface Accuracy {
  /** Mean over problems of the fraction of correct samples (greedy accuracy when n = 1). */
  pass1: number;
  /** Probability that at least one of k samples is correct (present when n > 1). */
  passK?: number;
  /** Fraction of problems whose most frequent extracted answer is correct (present when n > 1). */
  majK?: number;
}

export interface BenchmarkResult extends Accuracy {
  benchmark: string;
  problems: number;
}

export interface EvalResults {
  /** Samples per problem; pass@k and maj@k use k = n. */
  n: number;
  benchmarks: BenchmarkResult[];
  /** Unweighted mean over benchmarks, as the paper reports. */
  average: Accuracy;
}

/** Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k). */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`pass@k needs k ≤ n, got k = ${k}, n = ${n}`);
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/**
 * Whether the majority answer is correct. Non-empty extracted answers vote; answers the grader
 * finds equivalent (`2(x+1)` and `2x+2`) pool their votes; a tie goes to the answer seen first.
 */
export function majorityCorrect(samples: GradedSample[], options: GradeOptions = {}): boolean {
  interface Group {
    answer: string;
    votes: number;
    correct: boolean;
  }
  const groups: Group[] = [];
  const byKey = new Map<string, Group>();
  for (const s of samples) {
    const key = normalizeAnswer(s.extracted);
    if (key === '') continue;
    let group = byKey.get(key) ?? groups.find((g) => grade(s.extracted, g.answer, options).correct);
    if (!group) {
      group = { answer: s.extracted, votes: 0, correct: s.correct };
      groups.push(group);
    }
    byKey.set(key, group);
    group.votes++;
  }
  let best: Group | undefined;
  for (const group of groups) if (!best || group.votes > best.votes) best = group;
  return best?.correct ?? false;
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

export function benchmarkAccuracy(
  benchmark: string,
  records: ProblemRecord[],
  n: number,
): BenchmarkResult {
  const correctCounts = records.map((r) => r.samples.filter((s) => s.correct).length);
  const result: BenchmarkResult = {
    benchmark,
    problems: records.length,
    pass1: mean(correctCounts.map((c) => c / n)),
  };
  if (n > 1) {
    result.passK = mean(correctCounts.map((c) => passAtK(n, c, n)));
    result.majK = mean(records.map((r) => (majorityCorrect(r.samples) ? 1 : 0)));
  }
  return result;
}

export function summarizeResults(benchmarks: BenchmarkResult[], n: number): EvalResults {
  const average: Accuracy = { pass1: mean(benchmarks.map((b) => b.pass1)) };
  if (n > 1) {
    average.passK = mean(benchmarks.map((b) => b.passK ?? 0));
    average.majK = mean(benchmarks.map((b) => b.majK ?? 0));
  }
  return { n, benchmarks, average };
}
