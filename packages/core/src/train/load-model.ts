import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../io/hf-config-file.js';
import { loadHfModel } from '../io/hf-model.js';
import type { ModelConfig } from '../model/config.js';
import type { WeightMap } from '../model/params.js';
import { loadTokenizer } from '../tokenizer/load-tokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { validateTokenizer } from '../tokenizer/validate-tokenizer.js';

/** A model directory ready to run: config, f32 weights, tokenizer and the ids sampling needs. */
export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  weights: WeightMap;
  tokenizer: Tokenizer;
  /** every id that ends a completion: config.json, generation_config.json and the tokenizer's */
  eosIds: number[];
  /** the tokenizer's pad, else config's, else the first EOS (the reference trainer's choice) */
  padId: number;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

export function loadModel(dir: string): LoadedModel {
  const { config, weights } = loadHfModel(dir);
  const tokenizer = loadTokenizer(dir);
  validateTokenizer(tokenizer, config, dir);
  const eos = new Set<number>([...config.eosTokenIds, ...tokenizer.eosIds]);
  const genFile = join(dir, 'generation_config.json');
  if (existsSync(genFile)) {
    for (const id of idList((readJsonFile(genFile) as Record<string, unknown>).eos_token_id))
      eos.add(id);
  }
  const eosIds = [...eos].filter((id) => id >= 0 && id < config.vocabSize);
  if (eosIds.length === 0) {
    throw new Error(
      `${dir}: no EOS token id in config.json, generation_config.json or the tokenizer`,
    );
  }
  const padId = tokenizer.padId ?? config.padTokenId ?? eosIds[0];
  return { dir, config, weights, tokenizer, eosIds, padId };
}

/**
 * The token ids of a prompt as the trainer samples from it: through the chat template
 * (add_generation_prompt) when asked and available, else plain text with the tokenizer's
 * special tokens (BOS). An empty prompt is BOS alone. A `system` message goes before the
 * user's, through the template (there is nowhere else to put it).
 */
export function encodePrompt(
  model: LoadedModel,
  prompt: string,
  chatTemplate: 'auto' | 'on' | 'off',
  system?: string,
): number[] {
  const tok = model.tokenizer;
  const useTemplate = chatTemplate === 'on' || (chatTemplate === 'auto' && tok.hasChatTemplate);
  if (chatTemplate === 'on' && !tok.hasChatTemplate) {
    throw new Error(`${tok.source}: --chat-template on, but the tokenizer has no chat_template`);
  }
  if (system !== undefined && !useTemplate) {
    throw new Error(
      tok.hasChatTemplate
        ? '--system needs the chat template; drop --chat-template off'
        : `--system needs a chat template, and ${tok.source} has no chat_template`,
    );
  }
  let ids: number[];
  if (useTemplate) {
    const messages = [
      ...(system !== undefined ? [{ role: 'system', content: system }] : []),
      { role: 'user', content: prompt },
    ];
    const text = tok.applyChatTemplate(messages, {
      addGenerationPrompt: true,
    });
    ids = tok.encode(text, { addSpecialTokens: false });
  } else {
    ids = tok.encode(prompt, { addSpecialTokens: true });
  }
  if (ids.length === 0) {
    if (tok.bosId === null)
      throw new Error('empty prompt and the tokenizer has no BOS token to start from');
    ids = [tok.bosId];
  }
  if (ids.length >= model.config.maxPositionEmbeddings) {
    throw new Error(
      `prompt is ${ids.length} tokens; the model's context (max_position_embeddings) is ${model.config.maxPositionEmbeddings}`,
    );
  }
  return ids;
}
