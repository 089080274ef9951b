// Renderers of an evaluation's results: an aligned terminal table, a markdown table, JSON.

import type { Accuracy, EvalResults } from './metrics.js';
import { snakeCaseKeys } from '../io/json-keys.js';

function columns(
  results: EvalResults,
): { header: string; value: (a: Accuracy) => number | undefined }[] {
  const k = results.n;
  const cols: { header: string; value: (a: Accuracy) => number | undefined }[] = [
    { header: 'pass@1', value: (a) => a.pass1 },
  ];
  if (k > 1) {
    cols.push(
      { header: `pass@${k}`, value: (a) => a.passK },
      { header: `maj@${k}`, value: (a) => a.majK },
    );
  }
  return cols;
}

const percent = (x: number | undefined) => (x === undefined ? '' : (100 * x).toFixed(1));

function rows(results: EvalResults): string[][] {
  const cols = columns(results);
  const header = ['benchmark', 'problems', ...cols.map((c) => c.header)];
  const body = results.benchmarks.map((b) => [
    b.benchmark,
    String(b.problems),
    ...cols.map((c) => percent(c.value(b))),
  ]);
  const total = results.benchmarks.reduce((s, b) => s + b.problems, 0);
  const average = ['average', String(total), ...cols.map((c) => percent(c.value(results.average)))];
  return [header, ...body, average];
}

/** Fixed-width table for a terminal; accuracies in percent. */
export function formatResultsTable(results: EvalResults): string {
  const table = rows(results);
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  const line = (row: string[]) =>
    row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [header, ...rest] = table;
  return [
    line(header),
    rule,
    ...rest.slice(0, -1).map(line),
    rule,
    line(rest[rest.length - 1]),
  ].join('\n');
}

/** GitHub-flavoured markdown table; accuracies in percent. */
export function formatResultsMarkdown(results: EvalResults): string {
  const [header, ...rest] = rows(results);
  const last = rest.length - 1;
  const body = rest.map((row, i) => (i === last ? row.map((cell) => `**${cell}**`) : row));
  const align = header.map((_, j) => (j === 0 ? '---' : '---:'));
  return [header, align, ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** The results as JSON (fractions in [0, 1]; snake_case keys: pass_k, maj_k), as in results.json. */
export function formatResultsJson(results: EvalResults): string {
  return `${JSON.stringify(snakeCaseKeys(results), null, 2)}\n`;
}
