// The llama2.c → Hugging Face tokenizer conversion, checked against the native llama2.c encoder
// on the real tok512.bin: @huggingface/tokenizers' BPE is an independent implementation of the
// merging, so equal ids on a varied corpus check both.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHfTokenizer } from './hf-tokenizer.js';
import { createLlama2cTokenizer } from './llama2c.js';
import { llama2cTokenizerToHfJson } from './llama2c-to-hf.js';

const native = createLlama2cTokenizer(
  readFileSync(new URL('./fixtures/tok512.bin', import.meta.url)),
  'tok512.bin',
);
const { tokenizerJson, tokenizerConfigJson } = llama2cTokenizerToHfJson(native);
// Through JSON text, as the files would be written and read back.
const hf = createHfTokenizer({
  tokenizerJson: JSON.parse(JSON.stringify(tokenizerJson)),
  tokenizerConfig: JSON.parse(JSON.stringify(tokenizerConfigJson)),
  source: 'converted',
});

const handWritten = [
  'Once upon a time',
  'Once upon a time, there was a little girl named Lily.',
  'She loved to play outside in the sunshine.',
  'One day, she saw a big, red ball in the park.',
  '"Can I play with you?" asked Tom.',
  'Lily\'s mom said, "Don\'t go too far!"',
  'The end.',
  'They were happy and played together all day long.',
  'Tim and Sue went to the beach. They built a sandcastle.',
  'The cat sat on the mat. The dog barked.',
  'hello',
  'Hello World',
  'HELLO WORLD',
  'a',
  'I',
  ' ',
  '  ',
  '   three leading spaces',
  'trailing spaces   ',
  'double  space  inside',
  '\n',
  'line one\nline two\n\nline four',
  'tabs\tand\tmore\ttabs',
  'carriage\r\nreturn',
  '12345 67890',
  'The year 2024 had 366 days.',
  '3.14159 + 2.71828 = 5.85987',
  'punctuation!!! ??? ... ,,, ;;; ::',
  '(parentheses) [brackets] {braces} <angles>',
  'email@example.com and a #hashtag',
  'café naïve résumé',
  'Ångström Øre Straße',
  'ñandú pingüino',
  '中文字符',
  '日本語のテキスト',
  '한국어',
  'Русский текст',
  'Ελληνικά',
  'עברית',
  'العربية',
  '😀',
  '👩‍👩‍👧 family',
  '🇫🇷🇩🇪',
  '™ trademark',
  '™™™',
  'mixed 中 and 😀 and é in one line',
  'aaaaaaaaaaaaaaaaaaaa',
  'lolololololololol',
  'thethethethe',
  'the the the the',
  'andandand',
  'xyzzy plugh',
  'supercalifragilisticexpialidocious',
  'ThE qUiCk BrOwN fOx JuMpS oVeR tHe LaZy DoG',
  'The quick brown fox jumps over the lazy dog.',
  'she sells sea shells by the sea shore',
  'Lily and Ben were best friends. They liked to play with toys, run in the grass and eat ice cream.',
  '~`!@#$%^&*()_-+={}|\\:;"\'<>,.?/',
  '',
];

/** A deterministic pseudo-random generator (LCG) for the corpora below. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
}

/** Strings over characters the vocabulary knows and a few it doesn't. */
function randomCorpus(count: number): string[] {
  const alphabet = [
    ...'abcdefghijklmnopqrstuvwxyz',
    ...'ABCDELST',
    ' ',
    ' ',
    ' ',
    '.',
    ',',
    '!',
    '\n',
    'é',
    '中',
    '😀',
    '™',
  ];
  const next = lcg(12345);
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 60) }, () => alphabet[next() % alphabet.length]).join(''),
  );
}

/** Concatenations of 1–12 random merged pieces: dense in competing merges, where ranks and scores could disagree. */
function pieceCorpus(count: number): string[] {
  const pieces = native.pieces.slice(259);
  const next = lcg(7);
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 12) }, () => pieces[next() % pieces.length]).join(''),
  );
}

function firstMismatches(corpus: string[]): string[] {
  const out: string[] = [];
  for (const text of corpus) {
    const a = native.encode(text, { addSpecialTokens: true });
    const b = hf.encode(text, { addSpecialTokens: true });
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`${JSON.stringify(text)}: native ${JSON.stringify(a)} vs hf ${JSON.stringify(b)}`);
      if (out.length >= 5) break;
    }
  }
  return out;
}

describe('llama2c → HF tokenizer.json', () => {
  it('loads in @huggingface/tokenizers with the llama2.c ids for <unk>, <s>, </s>', () => {
    expect(hf.vocabSize).toBe(512);
    expect(hf.bosId).toBe(1);
    expect(hf.eosIds).toEqual([2]);
    expect(hf.padId).toBeNull();
    expect(hf.encode('<s>')).toEqual([1]);
    expect(hf.encode('</s>')).toEqual([2]);
  });

  it(`encodes ${handWritten.length} hand-written strings exactly as the native encoder`, () => {
    expect(handWritten.length).toBeGreaterThanOrEqual(50);
    expect(firstMismatches(handWritten)).toEqual([]);
  });

  it('encodes 300 pseudo-random strings exactly as the native encoder', () => {
    expect(firstMismatches(randomCorpus(300))).toEqual([]);
  });

  it('encodes 1000 concatenations of vocabulary pieces exactly as the native encoder', () => {
    expect(firstMismatches(pieceCorpus(1000))).toEqual([]);
  });

  it('encodes without BOS when special tokens are off', () => {
    const text = 'Once upon a time';
    expect(hf.encode(text)).toEqual(native.encode(text));
    expect(hf.encode(text)[0]).not.toBe(1);
  });

  it('decodes like the native decoder after BOS', () => {
    for (const text of handWritten) {
      const ids = native.encode(text, { addSpecialTokens: true });
      expect(hf.decode(ids, { skipSpecialTokens: true }), JSON.stringify(text)).toBe(
        native.decode(ids, { skipSpecialTokens: true }),
      );
    }
  });

  // Rank order equals score order only if no two different mergeable pieces share a score.
  it('has distinct scores for all pieces that merges produce (tok512.bin)', () => {
    const model = tokenizerJson.model as { merges: string[]; vocab: Record<string, number> };
    const resultIds = new Set(model.merges.map((m) => model.vocab[m.replace(' ', '')]));
    const scores = [...resultIds].map((id) => native.scores[id]);
    expect(new Set(scores).size).toBe(scores.length);
    // merges are listed best score first
    const ordered = model.merges.map((m) => native.scores[model.vocab[m.replace(' ', '')]]);
    expect(ordered.every((s, i) => i === 0 || s <= ordered[i - 1])).toBe(true);
  });

  // The documented divergences (README.md): HF reads "▁" as a space and special-token text as
  // the special token; llama2.c encodes both as ordinary characters.
  it('diverges only where documented: "▁" and special-token text', () => {
    expect(hf.encode('a▁b')).toEqual(hf.encode('a b'));
    expect(native.encode('a▁b')).not.toEqual(native.encode('a b'));
    expect(hf.encode('x<s>')).toContain(1);
    expect(native.encode('x<s>')).not.toContain(1);
  });
});
