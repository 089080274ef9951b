// `oneshot-em grade --jsonl`: grade the outputs of any system. Each line holds a `reference`
// and either an `answer` or a full model `output` to extract one from; it comes back with
// `extracted`, `correct` and `reason` added, every other field kept.

import { extractAnswer } from './extract.js';
import { type GradeOptions, grade } from './grade.js';

/** Grade every line of `jsonl` (`source` names the file in errors); returns the graded JSONL. */
export function gradeJsonl(jsonl: string, source: string, options: GradeOptions = {}): string {
  const out: string[] = [];
  for (const [index, line] of jsonl.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `${source}:${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new Error(`${where}: expected a JSON object`);
    }
    const reference = row.reference;
    if (typeof reference !== 'string' && typeof reference !== 'number') {
      throw new Error(`${where}: field "reference" should be a string or number`);
    }
    let extracted: string;
    if (typeof row.answer === 'string' || typeof row.answer === 'number')
      extracted = String(row.answer);
    else if (typeof row.output === 'string') extracted = extractAnswer(row.output);
    else throw new Error(`${where}: expected a string field "answer" or "output"`);
    const verdict = grade(extracted, String(reference), options);
    out.push(
      JSON.stringify({ ...row, extracted, correct: verdict.correct, reason: verdict.reason }),
    );
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
