import { z } from 'zod';

/**
 * The value fields every command shares (sampling, lengths, counts), one definition each, so that
 * `generate`, `entropy`, `eval`, `compare` and `train` accept the same ranges and say the same thing
 * when a value is outside: `expected a number in (0, 1], got 1.5` (the caller prefixes the flag
 * or the config key).
 */
export interface Range {
  min?: number;
  max?: number;
  /** the bound itself is excluded */
  minOpen?: boolean;
  maxOpen?: boolean;
  int?: boolean;
}

/** "a number in (0, 1]", "an integer ≥ 1", "a number > 0". */
export function rangeText(r: Range): string {
  const what = r.int ? 'an integer' : 'a number';
  if (r.min !== undefined && r.max !== undefined) {
    return `${what} in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  }
  if (r.min !== undefined) return `${what} ${r.minOpen ? '>' : '≥'} ${r.min}`;
  if (r.max !== undefined) return `${what} ${r.maxOpen ? '<' : '≤'} ${r.max}`;
  return `${what}`;
}

function inRange(v: number, r: Range): boolean {
  if (!Number.isFinite(v)) return false;
  if (r.min !== undefined && (r.minOpen ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxOpen ? v >= r.max : v > r.max)) return false;
  return true;
}

/** A number field whose every failure (type, integer, range) reads `expected <range>, got <v>`. */
export function numberIn(r: Range) {
  const message = (iss: { input?: unknown }) =>
    `expected ${rangeText(r)}, got ${JSON.stringify(iss.input) ?? String(iss.input)}`;
  const base = z.number({ error: message });
  return (r.int ? base.int({ error: message }) : base).refine((v) => inRange(v, r), {
    error: message,
  });
}

/**
 * Hard cap of completions per prompt: a command decodes all n copies of its prompts as one batch
 * (one KV cache each), so n is bounded before anything is allocated; 1024 is 16× the paper's
 * largest sampling (maj@64) and keeps one batch's bookkeeping far below V8's heap.
 */
export const MAX_SAMPLES = 1024;

/**
 * Hard cap of new tokens: config.json's max_position_embeddings is bounded by 2²⁴ (size-limits.ts),
 * so no longer completion can fit; each command also checks prompt + max new tokens against the
 * model's context, and train's memory plan refuses what would not fit in memory.
 */
export const MAX_NEW_TOKENS = 2 ** 24;

export const optionFields = {
  temperature: () => numberIn({ min: 0 }),
  /** the entropy's softmax temperature divides the logits: 0 is not allowed */
  positiveTemperature: () => numberIn({ min: 0, minOpen: true }),
  topP: () => numberIn({ min: 0, max: 1, minOpen: true }),
  topK: () => numberIn({ min: 0, int: true }),
  repetitionPenalty: () => numberIn({ min: 0, minOpen: true }),
  /** min-p sampling's fraction of the top probability (0 disables) */
  minP: () => numberIn({ min: 0, max: 1 }),
  maxNewTokens: () => numberIn({ min: 1, max: MAX_NEW_TOKENS, int: true }),
  samples: () => numberIn({ min: 1, max: MAX_SAMPLES, int: true }),
  seed: () => numberIn({ min: 0, max: 2 ** 32 - 1, int: true }),
  positiveInt: () => numberIn({ min: 1, int: true }),
  chatTemplate: () => z.enum(['auto', 'on', 'off']),
};
