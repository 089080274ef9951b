/**
 * The llama2.c tokenizer (`tokenizer.bin`, `tok512.bin`): a sentencepiece BPE vocabulary
 * exported as pieces with scores, encoded by greedy highest-score merging.
 *
 * File layout (little-endian): int32 max_token_length, then for every token in id order
 * f32 score, int32 byte length, the UTF-8 bytes of the piece. The vocabulary size is not
 * stored; the file simply ends after the last token. The exporter writes sentencepiece's
 * "▁" as a plain space, so pieces here hold ' '.
 *
 * Fixed ids, as llama2.c assumes them: 0 `<unk>`, 1 BOS, 2 EOS, 3 + b the raw byte b
 * (pieces `<0x00>` … `<0xFF>`).
 */
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
} from './tokenizer.js';

export const LLAMA2C_UNK_ID = 0;
export const LLAMA2C_BOS_ID = 1;
export const LLAMA2C_EOS_ID = 2;
/** Id of the token for raw byte b is `LLAMA2C_BYTE_OFFSET + b`. */
export const LLAMA2C_BYTE_OFFSET = 3;

/** Names the special ids print as (the file stores BOS/EOS as "\n<s>\n" / "\n</s>\n"). */
const SPECIAL_NAMES = ['<unk>', '<s>', '</s>'];

/** llama2.c starts its best-score search at -1e10, so a merge scoring at or below it never happens. */
const NO_MERGE_SCORE = -1e10;

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export function bytePiece(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

export interface Llama2cVocab {
  maxTokenLength: number;
  /** Piece text per id, exactly as stored (spaces, not "▁"). */
  pieces: string[];
  scores: Float32Array;
}

/** Parses a llama2.c tokenizer file; `source` names it in errors. */
export function parseLlama2cTokenizer(bytes: Uint8Array, source: string): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  if (bytes.byteLength < 4) {
    throw new Error(
      `${source}: llama2.c tokenizer is ${bytes.byteLength} bytes; expected an int32 max_token_length header`,
    );
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) {
    throw new Error(`${source}: max_token_length is ${maxTokenLength}; expected a positive int32`);
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  let offset = 4;
  while (offset < bytes.byteLength) {
    const id = pieces.length;
    if (offset + 8 > bytes.byteLength) {
      throw new Error(
        `${source}: truncated at byte ${offset} in the record of token ${id} (expected f32 score and int32 length)`,
      );
    }
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || length > maxTokenLength || offset + length > bytes.byteLength) {
      throw new Error(
        `${source}: token ${id} has byte length ${length} at byte ${offset - 4}; expected 0..${maxTokenLength} within the file`,
      );
    }
    try {
      pieces.push(utf8.decode(bytes.subarray(offset, offset + length)));
    } catch {
      throw new Error(`${source}: token ${id} is not valid UTF-8`);
    }
    scores.push(score);
    offset += length;
  }
  const vocab = { maxTokenLength, pieces, scores: Float32Array.from(scores) };
  checkByteTokens(vocab, source);
  return vocab;
}

function checkByteTokens(vocab: Llama2cVocab, source: string): void {
  const needed = LLAMA2C_BYTE_OFFSET + 256;
  if (vocab.pieces.length < needed) {
    throw new Error(
      `${source}: ${vocab.pieces.length} tokens; a llama2.c tokenizer needs at least ${needed} (3 special + 256 bytes)`,
    );
  }
  for (let b = 0; b < 256; b++) {
    const piece = vocab.pieces[LLAMA2C_BYTE_OFFSET + b];
    if (piece !== bytePiece(b)) {
      throw new Error(
        `${source}: token ${LLAMA2C_BYTE_OFFSET + b} is ${JSON.stringify(piece)}; expected byte token ${bytePiece(b)}`,
      );
    }
  }
}

/** Replaces lone UTF-16 surrogates by U+FFFD, as any UTF-8 encoding of the text would. */
function wellFormed(text: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(text));
}

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = LLAMA2C_BOS_ID;
  readonly eosIds = [LLAMA2C_EOS_ID];
  readonly padId = null;
  readonly hasChatTemplate = false;
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  private readonly idOf = new Map<string, number>();

  constructor(
    vocab: Llama2cVocab,
    readonly source: string,
  ) {
    this.pieces = vocab.pieces;
    this.scores = vocab.scores;
    this.vocabSize = vocab.pieces.length;
    // With duplicate pieces the lowest id wins (llama2.c's binary search picks an arbitrary one).
    vocab.pieces.forEach((piece, id) => {
      if (!this.idOf.has(piece)) this.idOf.set(piece, id);
    });
  }

  isSpecial(id: number): boolean {
    return id === LLAMA2C_UNK_ID || id === LLAMA2C_BOS_ID || id === LLAMA2C_EOS_ID;
  }

  /**
   * llama2.c's encode: optional BOS, a dummy-prefix space before non-empty text, one token per
   * code point (unknown code points become their UTF-8 byte tokens), then repeatedly merge the
   * adjacent pair whose concatenation is a piece with the highest score (leftmost on ties).
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (text.length > 0) {
      for (const char of ` ${wellFormed(text)}`) {
        const id = this.idOf.get(char);
        if (id !== undefined) {
          ids.push(id);
        } else {
          for (const byte of new TextEncoder().encode(char)) ids.push(LLAMA2C_BYTE_OFFSET + byte);
        }
      }
      this.mergeGreedily(ids);
    }
    return options.addSpecialTokens ? [LLAMA2C_BOS_ID, ...ids] : ids;
  }

  /** Merges in place; `merged[i]` caches the id the pair (i, i+1) would merge into, or -1. */
  private mergeGreedily(ids: number[]): void {
    const merged = ids.slice(0, -1).map((_, i) => this.pairMerge(ids[i], ids[i + 1]));
    for (;;) {
      let best = -1;
      let bestScore = NO_MERGE_SCORE;
      for (let i = 0; i < merged.length; i++) {
        if (merged[i] >= 0 && this.scores[merged[i]] > bestScore) {
          bestScore = this.scores[merged[i]];
          best = i;
        }
      }
      if (best < 0) return;
      ids.splice(best, 2, merged[best]);
      merged.splice(best, 1);
      if (best > 0) merged[best - 1] = this.pairMerge(ids[best - 1], ids[best]);
      if (best < merged.length) merged[best] = this.pairMerge(ids[best], ids[best + 1]);
    }
  }

  private pairMerge(left: number, right: number): number {
    return this.idOf.get(this.pieces[left] + this.pieces[right]) ?? -1;
  }

  /**
   * llama2.c's decode: byte tokens become raw bytes, the piece right after BOS loses its
   * leading space. Special tokens print as `<unk>`, `<s>`, `</s>` unless skipped.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    const utf8 = new TextEncoder();
    let previous = -1;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(
          `${this.source}: token id ${id} outside the vocabulary [0, ${this.vocabSize})`,
        );
      }
      const afterBos = previous === LLAMA2C_BOS_ID;
      previous = id;
      if (this.isSpecial(id)) {
        if (!options.skipSpecialTokens) parts.push(utf8.encode(SPECIAL_NAMES[id]));
        continue;
      }
      const piece = this.pieces[id];
      const byte = BYTE_PIECE.exec(piece);
      if (byte) {
        parts.push(Uint8Array.of(Number.parseInt(byte[1], 16)));
      } else {
        parts.push(utf8.encode(afterBos && piece.startsWith(' ') ? piece.slice(1) : piece));
      }
    }
    return new TextDecoder().decode(concatBytes(parts));
  }

  applyChatTemplate(_messages: readonly ChatMessage[], _options: ChatTemplateOptions): string {
    throw new Error(
      `${this.source}: a llama2.c tokenizer has no chat template; use the raw prompt instead`,
    );
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Parses the bytes of a llama2.c tokenizer file into a `Tokenizer`. */
export function createLlama2cTokenizer(bytes: Uint8Array, source: string): Llama2cTokenizer {
  return new Llama2cTokenizer(parseLlama2cTokenizer(bytes, source), source);
}
