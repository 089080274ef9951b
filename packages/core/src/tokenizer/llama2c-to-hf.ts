/**
 * Converts a llama2.c tokenizer into Hugging Face `tokenizer.json` + `tokenizer_config.json`,
 * laid out as transformers' sentencepiece→Llama conversion lays it out (BPE with byte
 * fallback, "▁" for space, a "▁" prepended by the normalizer, `<s>` added by the post-processor).
 *
 * Why the merges reproduce llama2.c: llama2.c merges the adjacent pair whose concatenation is a
 * piece with the highest score; HF's BPE merges the adjacent pair with the lowest merge rank.
 * So every split (left, right) of a piece into two pieces becomes a merge, ranked by the score
 * of the piece (highest first). The encodings agree whenever the ranks order the candidate
 * pairs as the scores do — see README.md in this folder for the cases where they cannot.
 */
import {
  bytePiece,
  LLAMA2C_BOS_ID,
  LLAMA2C_BYTE_OFFSET,
  LLAMA2C_EOS_ID,
  LLAMA2C_UNK_ID,
  type Llama2cTokenizer,
} from './llama2c.js';

const SPACE_MARK = '▁';
/** Same threshold as the native encoder: llama2.c never merges into a piece scoring ≤ -1e10. */
const NO_MERGE_SCORE = -1e10;

const SPECIALS = [
  { id: LLAMA2C_UNK_ID, content: '<unk>' },
  { id: LLAMA2C_BOS_ID, content: '<s>' },
  { id: LLAMA2C_EOS_ID, content: '</s>' },
];

export interface HfTokenizerJsonPair {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfigJson: Record<string, unknown>;
}

export function llama2cTokenizerToHfJson(tok: Llama2cTokenizer): HfTokenizerJsonPair {
  const vocabPieces = hfPieces(tok);
  const vocab: Record<string, number> = {};
  vocabPieces.forEach((piece, id) => {
    vocab[piece] = id;
  });
  return {
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIALS.map(({ id, content }) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: SPACE_MARK },
          { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK },
        ],
      },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '<s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: '<s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '<s>', type_id: 1 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { '<s>': { id: '<s>', ids: [LLAMA2C_BOS_ID], tokens: ['<s>'] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<unk>',
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: rankedMerges(vocabPieces, tok.scores),
      },
    },
    tokenizerConfigJson: {
      add_bos_token: true,
      add_eos_token: false,
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      pad_token: null,
      clean_up_tokenization_spaces: false,
      legacy: true,
      model_max_length: 1_000_000_000,
      tokenizer_class: 'PreTrainedTokenizerFast',
    },
  };
}

/** The pieces as HF spells them: specials by name, spaces as "▁"; rejects what would collide. */
function hfPieces(tok: Llama2cTokenizer): string[] {
  const pieces = tok.pieces.map((piece, id) => {
    const special = SPECIALS.find((s) => s.id === id);
    if (special) return special.content;
    if (piece.includes(SPACE_MARK)) {
      throw new Error(
        `llama2.c token ${id} (${JSON.stringify(piece)}) contains "${SPACE_MARK}", which HF uses for space`,
      );
    }
    return piece.replaceAll(' ', SPACE_MARK);
  });
  const seen = new Map<string, number>();
  pieces.forEach((piece, id) => {
    const earlier = seen.get(piece);
    if (earlier !== undefined) {
      throw new Error(
        `llama2.c tokens ${earlier} and ${id} are both ${JSON.stringify(piece)}; HF vocabularies need unique pieces`,
      );
    }
    seen.set(piece, id);
  });
  for (let b = 0; b < 256; b++) {
    if (pieces[LLAMA2C_BYTE_OFFSET + b] !== bytePiece(b))
      throw new Error(`llama2.c token ${LLAMA2C_BYTE_OFFSET + b} is not ${bytePiece(b)}`);
  }
  return pieces;
}

/**
 * Every (left, right) with left + right a piece, all three ordinary pieces, ordered by the
 * score of left + right (highest first), then its id, then the split position.
 */
function rankedMerges(pieces: string[], scores: Float32Array): string[] {
  const idOf = new Map(pieces.map((piece, id) => [piece, id]));
  const isOrdinary = (id: number | undefined) =>
    id !== undefined && !SPECIALS.some((s) => s.id === id);
  const merges: { left: string; right: string; id: number; split: number }[] = [];
  pieces.forEach((piece, id) => {
    if (!isOrdinary(id) || scores[id] <= NO_MERGE_SCORE) return;
    for (let split = 1; split < piece.length; split++) {
      const left = piece.slice(0, split);
      const right = piece.slice(split);
      if (isOrdinary(idOf.get(left)) && isOrdinary(idOf.get(right)))
        merges.push({ left, right, id, split });
    }
  });
  merges.sort((a, b) => scores[b.id] - scores[a.id] || a.id - b.id || a.split - b.split);
  // "left right" is unambiguous: no piece contains a space once spaces are spelled "▁".
  return merges.map((m) => `${m.left} ${m.right}`);
}
