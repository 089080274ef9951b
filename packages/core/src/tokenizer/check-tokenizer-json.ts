import { SIZE_LIMITS } from '../io/size-limits.js';

/**
 * Checks the token ids of a tokenizer.json before the tokenizer library sees it: the library
 * sizes tables by the largest id, so one id of 1e9 would allocate gigabytes (found by
 * tokenizer-fuzz.test.ts). Ids must be integers in [0, vocab_size limit); `file` names the
 * file in the error.
 */
export function checkTokenizerJsonIds(json: unknown, file: string): void {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  const limit = SIZE_LIMITS.vocab_size;
  const checkId = (id: unknown, where: string) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      const got = JSON.stringify(id) ?? String(id);
      throw new Error(
        `${file}: ${where}: expected a token id (an integer in [0, ${limit})), got ${got.slice(0, 40)}`,
      );
    }
  };
  const { model, added_tokens: added } = json as { model?: unknown; added_tokens?: unknown };
  if (Array.isArray(added)) {
    for (const [i, t] of added.entries()) {
      if (t !== null && typeof t === 'object')
        checkId((t as { id?: unknown }).id, `added_tokens[${i}].id`);
    }
  }
  const vocab = (model as { vocab?: unknown } | null | undefined)?.vocab;
  // BPE / WordPiece / WordLevel map token → id; Unigram lists [token, score] (ids implicit)
  if (vocab !== null && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [token, id] of Object.entries(vocab))
      checkId(id, `model.vocab[${JSON.stringify(token)}]`);
  }
}
