import { describe, expect, it } from 'vitest';
import { gradeJsonl } from './grade-jsonl.js';

describe('gradeJsonl', () => {
  it('grades answers and extracts from outputs, keeping other fields', () => {
    const input = [
      JSON.stringify({ id: 'a', answer: '\\frac{1}{2}', reference: '0.5' }),
      JSON.stringify({ id: 'b', output: 'so the answer is $\\boxed{27}$', reference: 27 }),
      '',
      JSON.stringify({ id: 'c', output: 'no idea', reference: '3' }),
    ].join('\n');
    const lines = gradeJsonl(input, 'in.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        id: 'a',
        answer: '\\frac{1}{2}',
        reference: '0.5',
        extracted: '\\frac{1}{2}',
        correct: true,
        reason: 'string',
      },
      {
        id: 'b',
        output: 'so the answer is $\\boxed{27}$',
        reference: 27,
        extracted: '27',
        correct: true,
        reason: 'string',
      },
      {
        id: 'c',
        output: 'no idea',
        reference: '3',
        extracted: '',
        correct: false,
        reason: 'empty',
      },
    ]);
  });

  it('names the line and field of bad input', () => {
    expect(() => gradeJsonl('{"answer":"1"}', 'g.jsonl')).toThrow(
      'g.jsonl:1: field "reference" should be a string or number',
    );
    expect(() => gradeJsonl('\n{"reference":"1"}', 'g.jsonl')).toThrow(
      'g.jsonl:2: expected a string field "answer" or "output"',
    );
    expect(() => gradeJsonl('[1]', 'g.jsonl')).toThrow('g.jsonl:1: expected a JSON object');
    expect(() => gradeJsonl('{', 'g.jsonl')).toThrow(/g\.jsonl:1: not valid JSON/);
  });
});
