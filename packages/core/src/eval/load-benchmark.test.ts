import { describe, expect, it } from 'vitest';
import { BENCHMARKS, parseBenchmark } from './benchmarks.js';
import { loadBenchmark } from './load-benchmark.js';

// Row counts and first references, read off the files by hand (assets/eval/README.md).
const EXPECTED: Record<
  string,
  { rows: number; first: { id: string; reference: string; question: string } }
> = {
  math500: {
    rows: 500,
    first: {
      id: 'test/precalculus/807.json',
      reference: String.raw`\left( 3, \frac{\pi}{2} \right)`,
      question: 'Convert the point',
    },
  },
  minerva_math: {
    rows: 272,
    first: { id: '0', reference: '1.6', question: 'Each of the two Magellan' },
  },
  olympiadbench: { rows: 675, first: { id: '1606', reference: '2', question: 'Xenia and Sergey' } },
  amc23: { rows: 40, first: { id: '0', reference: '27', question: 'Cities $A$ and $B$' } },
  amc23x8: { rows: 320, first: { id: '0:0', reference: '27', question: 'Cities $A$ and $B$' } },
  aime24: { rows: 30, first: { id: '60', reference: '204', question: 'Every morning Aya' } },
  aime25: {
    rows: 30,
    first: { id: '0', reference: '70', question: 'Find the sum of all integer bases' },
  },
  gsm8k: { rows: 1319, first: { id: '0', reference: '18', question: 'Janet’s ducks' } },
};

describe('loadBenchmark', () => {
  it('reads every bundled set with its row count and normalised fields', () => {
    expect(Object.keys(BENCHMARKS).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, want] of Object.entries(EXPECTED)) {
      const problems = loadBenchmark(name);
      expect(problems.length, name).toBe(want.rows);
      expect(problems[0].id, name).toBe(want.first.id);
      expect(problems[0].reference, name).toBe(want.first.reference);
      expect(problems[0].question.startsWith(want.first.question), name).toBe(true);
      expect(new Set(problems.map((p) => p.id)).size, `${name} unique ids`).toBe(want.rows);
      expect(
        problems.every((p) => p.question.length > 0 && p.reference.length > 0),
        name,
      ).toBe(true);
    }
  });

  it('takes references from the right place in each format', () => {
    const olympiad = loadBenchmark('olympiadbench');
    expect(olympiad.find((p) => p.reference.startsWith('(1,8,19)'))?.reference).toBe(
      '(1,8,19), (2,7,13), (4,5,7)',
    );
    expect(olympiad.some((p) => p.reference === '69$,$84')).toBe(true);
    const minerva = loadBenchmark('minerva_math');
    expect(minerva[1].reference).toBe('4.5e33');
    const gsm8k = loadBenchmark('gsm8k', { limit: 3 });
    expect(gsm8k.map((p) => p.reference)).toEqual(['18', '3', '70000']);
    const amc = loadBenchmark('amc23x8');
    expect(amc[40].id).toBe('1:0');
    expect(amc[40].question).toBe(amc[0].question);
  });

  it('applies limit', () => {
    expect(loadBenchmark('math500', { limit: 7 }).length).toBe(7);
    expect(loadBenchmark('aime24', { limit: 100 }).length).toBe(30);
    expect(() => loadBenchmark('aime24', { limit: -1 })).toThrow(
      /limit should be a non-negative integer/,
    );
  });

  it('rejects unknown names and malformed rows with the file, line and field', () => {
    expect(() => loadBenchmark('math5000')).toThrow(
      /unknown benchmark "math5000"; expected one of: math500, /,
    );
    expect(() =>
      parseBenchmark('gsm8k', '{"question":"q","answer":"no marker","idx":0}', 'x.jsonl'),
    ).toThrow('x.jsonl:1: field "answer" has no "####" final answer');
    expect(() => parseBenchmark('aime24', '{"problem":"q","id":1}\n{oops', 'y.jsonl')).toThrow(
      /y\.jsonl:1: missing field "answer"/,
    );
    expect(() =>
      parseBenchmark('aime25', '{"problem":"q","answer":"1"}\n{oops', 'y.jsonl'),
    ).toThrow(/y\.jsonl:2: not valid JSON/);
    expect(() =>
      parseBenchmark('olympiadbench', '{"question":"q","id":1,"final_answer":"2"}', 'z.jsonl'),
    ).toThrow('z.jsonl:1: field "final_answer" should be a list of strings');
    expect(() =>
      parseBenchmark(
        'amc23',
        '{"question":"q","id":1,"answer":1}\n{"question":"q","id":1,"answer":2}',
        'w.jsonl',
      ),
    ).toThrow('w.jsonl:2: duplicate id "1" in field "id"');
  });
});
