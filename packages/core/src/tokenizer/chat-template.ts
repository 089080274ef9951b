/**
 * Chat templates as transformers renders them: a Jinja template from `tokenizer_config.json`
 * (`chat_template`, a string or a list of named templates) or from `chat_template.jinja`,
 * rendered with the messages, `add_generation_prompt` and the special-token strings
 * (`bos_token`, `eos_token`, …). @huggingface/jinja supplies the engine, including the
 * `trim_blocks`/`lstrip_blocks` settings and the `raise_exception` helper transformers uses.
 */
import { Template } from '@huggingface/jinja';
import { type RenderLimits, renderBounded } from './bounded-render.js';
import type { ChatMessage, ChatTemplateOptions } from './tokenizer.js';

export type ChatTemplateSetting = string | { name: string; template: string }[];

/**
 * The template transformers would use when no name is asked for: the string itself, or the
 * entry named "default" of a list. `source` names where the setting came from.
 */
export function selectChatTemplate(setting: ChatTemplateSetting, source: string): string {
  if (typeof setting === 'string') return setting;
  const named = setting.find((entry) => entry.name === 'default');
  if (!named) {
    const names = setting.map((entry) => JSON.stringify(entry.name)).join(', ');
    throw new Error(`${source}: chat_template lists templates ${names} but none named "default"`);
  }
  return named.template;
}

/**
 * A parsed template, rendered with limits (bounded-render.ts): a runaway loop or a huge output
 * ends in an error naming the template's file instead of hanging or exhausting memory.
 */
export class ChatTemplate {
  /** `specialTokens`: bos_token, eos_token, … as strings, passed to the template as transformers does. */
  constructor(
    private readonly text: string,
    private readonly source: string,
    private readonly specialTokens: Record<string, string | string[]>,
    private readonly limits: RenderLimits = {},
  ) {
    // parsed here too, so that a syntax error is reported when the tokenizer loads
    try {
      new Template(text);
    } catch (error) {
      throw new Error(`${source}: chat_template does not parse: ${(error as Error).message}`);
    }
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
    return renderBounded(
      this.text,
      {
        ...this.specialTokens,
        messages: messages.map(({ role, content }) => ({ role, content })),
        add_generation_prompt: options.addGenerationPrompt,
      },
      `${this.source}: chat_template`,
      this.limits,
    );
  }
}
