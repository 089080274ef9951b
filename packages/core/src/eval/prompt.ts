// The Qwen2.5-Math harness's `qwen25-math-cot` prompt: a system message asking for step-by-step
// reasoning and a \boxed{} final answer, then the question as the user turn.

import type { ChatMessage } from '../tokenizer/tokenizer.js';

/**
 * Renders messages with the model's chat template, the generation prompt appended — e.g.
 * `(m) => tokenizer.applyChatTemplate(m, { addGenerationPrompt: true })`.
 */
export type ApplyChatTemplate = (messages: readonly ChatMessage[]) => string;

export const COT_SYSTEM_PROMPT =
  'Please reason step by step, and put your final answer within \\boxed{}.';

/** The harness's generation budget for evaluation (greedy, temperature 0, top-p 1). */
export const EVAL_MAX_NEW_TOKENS = 3072;

/** Strings that end a completion in the harness (besides the tokenizer's own EOS). */
export const EVAL_STOP_STRINGS = ['<|im_end|>', '<|endoftext|>', '</s>'] as const;

export function cotMessages(question: string): ChatMessage[] {
  return [
    { role: 'system', content: COT_SYSTEM_PROMPT },
    { role: 'user', content: question },
  ];
}

/**
 * The prompt for one question: through `applyChatTemplate` when the model's tokenizer has a
 * chat template, else the harness's literal ChatML string.
 */
export function buildEvalPrompt(question: string, applyChatTemplate?: ApplyChatTemplate): string {
  if (applyChatTemplate) return applyChatTemplate(cotMessages(question));
  return `<|im_start|>system\n${COT_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`;
}

/** The completion up to the first stop string (a backend that stops only at EOS may run past one). */
export function truncateAtStop(
  output: string,
  stops: readonly string[] = EVAL_STOP_STRINGS,
): string {
  let end = output.length;
  for (const stop of stops) {
    const at = output.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return output.slice(0, end);
}
