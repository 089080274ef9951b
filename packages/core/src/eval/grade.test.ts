import { describe, expect, it } from 'vitest';
import { grade } from './grade.js';
import { GRADER_CASES } from './grader-cases.js';

describe('grade', () => {
  it('agrees with every hand-checked case', () => {
    expect(GRADER_CASES.length).toBeGreaterThanOrEqual(100);
    const failures = GRADER_CASES.flatMap((item) => {
      const result = grade(item.answer, item.reference);
      return result.correct === item.correct
        ? []
        : [
            `${item.note}: grade(${JSON.stringify(item.answer)}, ${JSON.stringify(item.reference)}) = ${result.correct} (${result.reason}), expected ${item.correct}`,
          ];
    });
    expect(
      failures,
      `${failures.length} of ${GRADER_CASES.length} cases disagree:\n${failures.join('\n')}`,
    ).toEqual([]);
  });

  it('covers both verdicts from every benchmark', () => {
    for (const set of ['math500', 'minerva', 'olympiad', 'aime', 'amc23', 'gsm8k']) {
      const cases = GRADER_CASES.filter((item) => item.note.startsWith(set));
      expect(
        cases.some((item) => item.correct),
        `${set} correct cases`,
      ).toBe(true);
      expect(
        cases.some((item) => !item.correct),
        `${set} wrong cases`,
      ).toBe(true);
    }
  });

  it('counts an answer past the time limit as wrong', () => {
    expect(grade('(x+1)^2', 'x^2+2x+1', { timeLimitMs: 0 })).toEqual({
      correct: false,
      reason: 'timeout',
    });
    expect(grade('(x+1)^2', 'x^2+2x+1')).toEqual({ correct: true, reason: 'symbolic' });
  });

  it('does not evaluate towers of powers', () => {
    const start = performance.now();
    expect(grade('2^{10^{10}}+1', '2^{10^{10}}').correct).toBe(false);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
