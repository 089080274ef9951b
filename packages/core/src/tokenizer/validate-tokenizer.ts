/**
 * Checks that a tokenizer fits the model it is paired with, so that a mismatched pair fails at
 * load time with both files named instead of producing garbage or an out-of-range embedding read.
 */
import type { ModelConfig } from '../model/config.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * Throws when the tokenizer can produce ids past the model's vocab_size, when the config names
 * BOS/EOS ids the tokenizer does not have, or when both name BOS (or EOS) and they disagree
 * entirely. `dir` is the model directory (its `config.json` is named in errors).
 */
export function validateTokenizer(tok: Tokenizer, config: ModelConfig, dir: string): void {
  const configFile = `${dir}/config.json`;
  if (tok.vocabSize > config.vocabSize) {
    throw new Error(
      `${tok.source}: the tokenizer has ${tok.vocabSize} ids but ${configFile} has vocab_size ${config.vocabSize}; ids ≥ ${config.vocabSize} have no embedding row — tokenizer and model do not belong together`,
    );
  }
  const configIds: [string, number][] = [
    ...(config.bosTokenId === null
      ? []
      : [['bos_token_id', config.bosTokenId] as [string, number]]),
    ...config.eosTokenIds.map((id) => ['eos_token_id', id] as [string, number]),
  ];
  for (const [field, id] of configIds) {
    if (id >= tok.vocabSize) {
      throw new Error(
        `${configFile}: ${field} ${id} is outside the vocabulary of ${tok.source} (${tok.vocabSize} ids)`,
      );
    }
  }
  if (config.bosTokenId !== null && tok.bosId !== null && config.bosTokenId !== tok.bosId) {
    throw new Error(
      `${configFile}: bos_token_id ${config.bosTokenId} but ${tok.source} has BOS ${tok.bosId}`,
    );
  }
  if (
    config.eosTokenIds.length > 0 &&
    tok.eosIds.length > 0 &&
    !tok.eosIds.some((id) => config.eosTokenIds.includes(id))
  ) {
    throw new Error(
      `${configFile}: eos_token_id ${JSON.stringify(config.eosTokenIds)} shares no id with the EOS of ${tok.source} (${JSON.stringify(tok.eosIds)})`,
    );
  }
}
