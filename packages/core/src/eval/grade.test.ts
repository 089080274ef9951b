import { describe, expect, it } from 'vitest';
import { grade } from './grade.js';
import { GRADER_CASES } from './grader-cases.js';

const r = String.raw;

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

  it('stays fast and never throws on pathological answers', () => {
    const answers = [
      '2^{10^{10}}+1',
      '9^{9^9}',
      '(10^5)!',
      '2^{100000}',
      r`(x+y+z)^{1000}`,
      r`\frac{1}{0}`,
      '0^0',
      r`\sum_{n=1}^{\infty} n`,
      '{',
      '}',
      '\\',
      r`\frac{`,
      '((1,2)',
      'x_',
      '^',
      '1e999',
      'NaN',
      Array(300).fill('1').join('+'),
    ];
    for (const answer of answers) {
      for (const reference of ['x^2', '1', '(1,2)', r`\binom{2n}{n}`, r`\frac{d !}{2 k(d-k) !}`]) {
        const start = performance.now();
        const result = grade(answer, reference);
        const ms = performance.now() - start;
        expect(result.correct, `${answer} vs ${reference}`).toBe(false);
        expect(ms, `${answer} vs ${reference} took ${ms.toFixed(0)} ms`).toBeLessThan(1000);
      }
    }
  });

  it('does not hand kilobytes of degenerate output to the maths engine', () => {
    const junk = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
      '',
    );
    const start = performance.now();
    expect(grade(junk, 'x^2')).toEqual({ correct: false, reason: 'symbolic' });
    expect(grade(`${'1+'.repeat(2000)}1`, '2001').correct).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('compares factorial expressions at integer points', () => {
    expect(grade(r`\frac{(2n)!}{(n!)^2}`, r`\binom{2n}{n}`).correct).toBe(true);
    expect(grade(r`\frac{(2n)!}{n!}`, r`\binom{2n}{n}`).correct).toBe(false);
  });
});
