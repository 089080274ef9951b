// Reading the bundled benchmark files (node only; exported from @oneshot-em/core/node).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  benchmarkSpec,
  type EvalProblem,
  type LoadBenchmarkOptions,
  parseBenchmark,
} from './benchmarks.js';

/** assets/eval/ of this package. */
export const EVAL_DATA_DIR = fileURLToPath(new URL('../../assets/eval/', import.meta.url));

/** Load a bundled benchmark as `{ id, question, reference }` problems. */
export function loadBenchmark(name: string, options: LoadBenchmarkOptions = {}): EvalProblem[] {
  const spec = benchmarkSpec(name);
  const path = `${EVAL_DATA_DIR}${spec.file}/test.jsonl`;
  return parseBenchmark(name, readFileSync(path, 'utf8'), path, options);
}
