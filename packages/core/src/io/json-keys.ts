/**
 * One key style in every JSON and JSONL file we write: snake_case, as Hugging Face's and TRL's
 * files (config.json, trainer_state.json, metrics). TypeScript keeps its camelCase fields;
 * writers convert at the file boundary.
 */

/** "meanMaxProb" → "mean_max_prob", "passK" → "pass_k"; snake_case keys stay as they are. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** A copy of `value` with every object key (at any depth) in snake_case. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snakeCase(k)] = snakeCaseKeys(v);
  return out;
}
