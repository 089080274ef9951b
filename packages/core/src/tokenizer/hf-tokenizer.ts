/**
 * Hugging Face tokenizers: `tokenizer.json` run by @huggingface/tokenizers, the special tokens
 * and chat template from `tokenizer_config.json` (or `chat_template.jinja`).
 */
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ChatTemplate, selectChatTemplate } from './chat-template.js';
import { checkTokenizerJsonIds } from './check-tokenizer-json.js';
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
} from './tokenizer.js';

/** A special token is written either as its text or as a serialised AddedToken `{ content, … }`. */
const tokenText = z
  .union([z.string(), z.looseObject({ content: z.string() })])
  .nullish()
  .transform((value) => (value == null ? null : typeof value === 'string' ? value : value.content));

const tokenizerConfigSchema = z.looseObject({
  bos_token: tokenText,
  eos_token: tokenText,
  pad_token: tokenText,
  unk_token: tokenText,
  additional_special_tokens: z.array(tokenText).nullish(),
  chat_template: z
    .union([z.string(), z.array(z.looseObject({ name: z.string(), template: z.string() }))])
    .nullish(),
});

export interface HfTokenizerSources {
  /** Parsed `tokenizer.json`. */
  tokenizerJson: unknown;
  /** Parsed `tokenizer_config.json` (`{}` when the file is absent). */
  tokenizerConfig: unknown;
  /** Contents of `chat_template.jinja`, used when tokenizer_config.json has no chat_template. */
  chatTemplateFile?: string | null;
  /** The directory the files came from, for error messages. */
  source: string;
}

export function createHfTokenizer(sources: HfTokenizerSources): Tokenizer {
  return new HfTokenizer(sources);
}

class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly padId: number | null;
  readonly hasChatTemplate: boolean;
  private readonly impl: HfTokenizerImpl;
  private readonly specialIds = new Set<number>();
  private readonly chatTemplate: ChatTemplate | null;
  readonly source: string;

  constructor({ tokenizerJson, tokenizerConfig, chatTemplateFile, source }: HfTokenizerSources) {
    this.source = `${source}/tokenizer.json`;
    const configFile = `${source}/tokenizer_config.json`;
    const parsed = tokenizerConfigSchema.safeParse(tokenizerConfig);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${configFile}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const config = parsed.data;
    checkTokenizerJsonIds(tokenizerJson, this.source);
    try {
      this.impl = new HfTokenizerImpl(tokenizerJson as object, tokenizerConfig as object);
    } catch (error) {
      throw new Error(`${this.source}: not a usable tokenizer: ${(error as Error).message}`);
    }

    let maxId = -1;
    for (const id of this.impl.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (field: string, text: string | null): number | null => {
      if (text === null) return null;
      const id = this.impl.token_to_id(text);
      if (id === undefined)
        throw new Error(
          `${configFile}: ${field} ${JSON.stringify(text)} is not in tokenizer.json's vocabulary`,
        );
      return id;
    };
    this.bosId = idOf('bos_token', config.bos_token);
    const eosId = idOf('eos_token', config.eos_token);
    this.eosIds = eosId === null ? [] : [eosId];
    this.padId = idOf('pad_token', config.pad_token);
    const unkId = idOf('unk_token', config.unk_token);

    for (const [id, token] of this.impl.get_added_tokens_decoder())
      if (token.special) this.specialIds.add(id);
    for (const id of [this.bosId, eosId, this.padId, unkId])
      if (id !== null) this.specialIds.add(id);
    const additional = (config.additional_special_tokens ?? []).filter(
      (t): t is string => t !== null,
    );
    for (const text of additional)
      this.specialIds.add(idOf('additional_special_tokens', text) as number);

    const setting = config.chat_template ?? chatTemplateFile ?? null;
    const templateFile =
      config.chat_template != null ? configFile : `${source}/chat_template.jinja`;
    this.hasChatTemplate = setting !== null;
    this.chatTemplate =
      setting === null
        ? null
        : new ChatTemplate(selectChatTemplate(setting, templateFile), templateFile, {
            ...Object.fromEntries(
              (['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const)
                .filter((field) => config[field] !== null)
                .map((field) => [field, config[field] as string]),
            ),
            additional_special_tokens: additional,
          });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    try {
      return this.impl.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
    } catch (error) {
      throw this.damaged('encoding', error);
    }
  }

  /** A library failure on a tokenizer.json that loaded but is malformed (found by fuzzing). */
  private damaged(what: string, error: unknown): Error {
    return new Error(
      `${this.source}: ${what} failed: ${(error as Error)?.message ?? error} (the file is damaged or of a form this tokenizer does not support)`,
      { cause: error },
    );
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(
          `${this.source}: token id ${id} outside the vocabulary [0, ${this.vocabSize})`,
        );
      }
    }
    if (ids.length === 0) return '';
    try {
      return this.impl.decode([...ids], {
        skip_special_tokens: options.skipSpecialTokens ?? false,
      });
    } catch (error) {
      throw this.damaged('decoding', error);
    }
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
    if (this.chatTemplate === null) {
      throw new Error(
        `${this.source}: no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja beside it); use the raw prompt instead`,
      );
    }
    return this.chatTemplate.render(messages, options);
  }
}
