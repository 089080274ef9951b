import { describe, expect, it } from 'vitest';
import { GRADER_CASES } from './grader-cases.js';
import { loadBenchmark } from './load-benchmark.js';
import { normalizeAnswer } from './normalize.js';

const r = String.raw;

describe('normalizeAnswer', () => {
  const cases: [string, string][] = [
    [r`\left( 3, \frac{\pi}{2} \right)`, r`(3,\frac{\pi}{2})`],
    // Thousands separators stay: "8, 221" may be a list; parseNumber reads "10,080" as a number.
    [r`10,\!080`, '10,080'],
    [r`\$32,\!348`, '32,348'],
    [r`\dfrac{17}{50}`, r`\frac{17}{50}`],
    [r`\frac 59`, r`\frac{5}{9}`],
    [r`11\sqrt2`, r`11\sqrt{2}`],
    [r`90^\circ`, '90'],
    [r`\frac{270}7\text{ degrees}`, r`\frac{270}{7}`],
    [r`864 \mbox{ inches}^2`, '864'],
    [r`5.4 \text{ cents}`, '5.4'],
    [r`\text{Evelyn}`, 'Evelyn'],
    [r`x \in [-2,7]`, '[-2,7]'],
    [r`y = 2x + 3`, '2x+3'],
    [r`\cot x`, r`\cot x`],
    ['27.0', '27'],
    ['0.10', '0.1'],
    ['.35625', '0.35625'],
    ['-1./3', r`\frac{-1}{3}`],
    ['62.5%', '62.5'],
    ['3/4', r`\frac{3}{4}`],
    ['0.5', r`\frac{1}{2}`],
    [r`k \geqslant 2`, r`k\ge 2`],
    [r`3 \text{ and } 5`, '3,5'],
    [r`(-\infty, 0) \cup\{1\}.`, r`(-\infty,0)\cup\{1\}`],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => expect(normalizeAnswer(input)).toBe(expected));
  }

  it('is idempotent on every real reference and every case answer', () => {
    const inputs = [
      ...['math500', 'minerva_math', 'olympiadbench', 'amc23', 'aime24', 'aime25', 'gsm8k'].flatMap(
        (name) => loadBenchmark(name).map((p) => p.reference),
      ),
      ...GRADER_CASES.map((c) => c.answer),
    ];
    const failures = inputs.flatMap((input) => {
      const once = normalizeAnswer(input);
      const twice = normalizeAnswer(once);
      return once === twice
        ? []
        : [`${JSON.stringify(input)}: ${JSON.stringify(once)} → ${JSON.stringify(twice)}`];
    });
    expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
  });
});
