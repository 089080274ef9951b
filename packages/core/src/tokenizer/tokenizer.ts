/**
 * The tokenizer contract every other part of the project works from: ids in, text out, and
 * the chat template that turns a conversation into the prompt string.
 *
 * Two implementations: Hugging Face `tokenizer.json` (hf-tokenizer.ts) and the llama2.c
 * `.bin` format (llama2c.ts).
 */

export interface ChatMessage {
  role: string;
  content: string;
}

export interface EncodeOptions {
  /** Add the tokens the tokenizer adds around a sequence (e.g. BOS). Default false. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, pad, chat markers) from the output. Default false. */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the marker that opens the assistant's turn (transformers' `add_generation_prompt`). */
  addGenerationPrompt: boolean;
}

export interface Tokenizer {
  /** The file it was loaded from (or another description of its origin), for error messages. */
  readonly source: string;
  /** One past the largest id the tokenizer can produce (base vocabulary and added tokens). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  /** Ids that end a generation; may be empty. */
  readonly eosIds: number[];
  readonly padId: number | null;
  readonly hasChatTemplate: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Renders the conversation to the prompt string; throws when `hasChatTemplate` is false. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions): string;
  isSpecial(id: number): boolean;
}
