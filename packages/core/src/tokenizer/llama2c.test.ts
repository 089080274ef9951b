// The llama2.c tokenizer on the real tok512.bin of stories260K (fixtures/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLlama2cTokenizer, LLAMA2C_BOS_ID, LLAMA2C_EOS_ID } from './llama2c.js';

const fileBytes = readFileSync(new URL('./fixtures/tok512.bin', import.meta.url));
const tok = createLlama2cTokenizer(fileBytes, 'tok512.bin');

/** Builds a llama2.c tokenizer file from (score, piece) records. */
function tokenizerFile(records: [number, string][], maxTokenLength = 16): Uint8Array {
  const parts: Buffer[] = [Buffer.from(new Int32Array([maxTokenLength]).buffer)];
  for (const [score, piece] of records) {
    const text = Buffer.from(piece, 'utf8');
    const header = Buffer.alloc(8);
    header.writeFloatLE(score, 0);
    header.writeInt32LE(text.length, 4);
    parts.push(header, text);
  }
  return Buffer.concat(parts);
}

const bytePieces: [number, string][] = Array.from({ length: 256 }, (_, b) => [
  0,
  `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
]);
const specials: [number, string][] = [
  [0, '<unk>'],
  [0, '\n<s>\n'],
  [0, '\n</s>\n'],
];

describe('llama2.c tokenizer file', () => {
  it('reads the 512 pieces of tok512.bin with their scores', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.pieces.slice(0, 4)).toEqual(['<unk>', '\n<s>\n', '\n</s>\n', '<0x00>']);
    expect(tok.pieces[258]).toBe('<0xFF>');
    // sentencepiece scores: the first merge scores 0, later merges and single characters lower.
    expect(tok.pieces[259]).toBe(' t');
    expect(tok.scores[260]).toBe(-1);
  });

  it('rejects a truncated file, naming the token', () => {
    const truncated = fileBytes.subarray(0, 1000);
    expect(() => createLlama2cTokenizer(truncated, 'cut.bin')).toThrow(/cut.bin: .*token \d+/);
  });

  it('rejects a file whose byte tokens are not at ids 3..258', () => {
    const file = tokenizerFile([...specials, ...bytePieces.slice(0, 255), [0, 'x']]);
    expect(() => createLlama2cTokenizer(file, 'odd.bin')).toThrow(
      /odd.bin: token 258 is "x"; expected byte token <0xFF>/,
    );
  });
});

describe('llama2.c encode', () => {
  // Pieces checked by hand against the vocabulary: " Once" 403, " upon" 407, " a" 261, " time" 378.
  it('encodes "Once upon a time" with BOS and the dummy-prefix space', () => {
    const ids = tok.encode('Once upon a time', { addSpecialTokens: true });
    expect(ids).toEqual([LLAMA2C_BOS_ID, 403, 407, 261, 378]);
    expect(ids.slice(1).map((id) => tok.pieces[id])).toEqual([' Once', ' upon', ' a', ' time']);
    expect(tok.encode('Once upon a time')).toEqual([403, 407, 261, 378]);
  });

  it('adds nothing to empty text but BOS on request', () => {
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('', { addSpecialTokens: true })).toEqual([LLAMA2C_BOS_ID]);
  });

  it('falls back to UTF-8 byte tokens (id 3 + byte) for characters outside the vocabulary', () => {
    const ids = tok.encode('😀');
    // dummy prefix " " then F0 9F 98 80
    expect(ids).toEqual([tok.pieces.indexOf(' '), 3 + 0xf0, 3 + 0x9f, 3 + 0x98, 3 + 0x80]);
  });

  it('merges the highest-scoring pair first, leftmost on ties', () => {
    // Vocabulary: a, b, ab (score -1), bb (score -2), bba (-3): "abb" → "ab"+"b" since ab outscores bb.
    const pieces: [number, string][] = [
      ...specials,
      ...bytePieces,
      [-10, ' '],
      [-11, 'a'],
      [-12, 'b'],
      [-1, 'ab'],
      [-2, 'bb'],
      [-3, 'bba'],
    ];
    const small = createLlama2cTokenizer(tokenizerFile(pieces), 'small.bin');
    const id = (piece: string) => pieces.findIndex(([, p]) => p === piece);
    expect(small.encode('abb')).toEqual([id(' '), id('ab'), id('b')]);
    // "bbb": both pairs are "bb"; the leftmost merges → "bb"+"b".
    expect(small.encode('bbb')).toEqual([id(' '), id('bb'), id('b')]);
    // "bba": bb (-2) merges before bba (-3) can form from bb+a.
    expect(small.encode('bba')).toEqual([id(' '), id('bba')]);
  });
});

describe('llama2.c decode', () => {
  const texts = [
    'Once upon a time, there was a little girl named Lily.',
    'She said, "Let\'s play!"\nThey played all day.',
    'Accents é, CJK 中文, emoji 😀🎉 via byte tokens',
    '  two leading spaces',
  ];
  for (const text of texts) {
    it(`round-trips ${JSON.stringify(text.slice(0, 24))}… after BOS`, () => {
      const ids = tok.encode(text, { addSpecialTokens: true });
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
    });
  }

  it('strips the leading space only after BOS and names special tokens', () => {
    const ids = tok.encode('Once upon a time');
    expect(tok.decode(ids)).toBe(' Once upon a time');
    expect(tok.decode([LLAMA2C_BOS_ID, ...ids, LLAMA2C_EOS_ID])).toBe('<s>Once upon a time</s>');
    expect(tok.isSpecial(LLAMA2C_EOS_ID)).toBe(true);
    expect(tok.isSpecial(403)).toBe(false);
  });

  it('has no chat template and rejects ids outside the vocabulary', () => {
    expect(tok.hasChatTemplate).toBe(false);
    expect(() =>
      tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    ).toThrow(/tok512.bin: a llama2.c tokenizer has no chat template/);
    expect(() => tok.decode([512])).toThrow(/token id 512 outside the vocabulary \[0, 512\)/);
  });
});
