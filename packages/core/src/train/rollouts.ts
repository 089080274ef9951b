import { readFile } from 'node:fs/promises';
import { assertRegularFile } from '../io/regular-file.js';

/**
 * Given completions (`--rollouts FILE`): users sample elsewhere (e.g. vLLM) and train here.
 * One JSON object per line, either token ids or text (tokenised with the model's tokenizer,
 * the prompt through the same chat-template setting as sampling). Errors name the file, the
 * line, the field and what was expected.
 */

export type RolloutLine =
  | { kind: 'ids'; promptIds: number[]; completionIds: number[] }
  | { kind: 'text'; prompt: string; completion: string };

export interface LoadRolloutsOptions {
  /** When given, every id must be below it (the model's vocab_size). */
  vocabSize?: number;
}

const SHAPES =
  'expected {"prompt_ids":[…],"completion_ids":[…]} or {"prompt":"…","completion":"…"}';

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** A rollouts line that cannot be used: `line` is 1-based, `field` may be empty. */
export class RolloutsError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    message: string,
  ) {
    super(`${file}:${line}: ${field ? `field "${field}": ` : ''}${message}`);
    this.name = 'RolloutsError';
  }
}

function tokenIds(
  obj: Record<string, unknown>,
  field: string,
  at: (field: string, message: string) => RolloutsError,
  vocabSize: number | undefined,
): number[] {
  const v = obj[field];
  if (v === undefined) throw at(field, `missing; ${SHAPES}`);
  if (!Array.isArray(v)) throw at(field, `expected a list of token ids, got ${describe(v)}`);
  if (v.length === 0) throw at(field, 'is empty; expected at least one token id');
  for (const [i, id] of v.entries()) {
    const where = `${field}[${i}]`;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      const why = typeof id !== 'number' ? 'not a number' : id < 0 ? 'negative' : 'fractional';
      throw at(where, `expected a token id (an integer ≥ 0), got ${describe(id)} (${why})`);
    }
    if (vocabSize !== undefined && id >= vocabSize) {
      throw at(where, `token id ${id} is out of the vocabulary (vocab_size ${vocabSize})`);
    }
  }
  return v as number[];
}

/** One line's rollout (`line` 1-based, for messages). */
export function parseRolloutLine(
  text: string,
  file: string,
  line: number,
  options: LoadRolloutsOptions = {},
): RolloutLine {
  const at = (field: string, message: string) => new RolloutsError(file, line, field, message);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw at('', `not valid JSON (${(e as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw at('', `${SHAPES}, got ${describe(obj)}`);
  }
  const o = obj as Record<string, unknown>;
  if ('prompt_ids' in o || 'completion_ids' in o) {
    return {
      kind: 'ids',
      promptIds: tokenIds(o, 'prompt_ids', at, options.vocabSize),
      completionIds: tokenIds(o, 'completion_ids', at, options.vocabSize),
    };
  }
  if ('prompt' in o || 'completion' in o) {
    for (const field of ['prompt', 'completion']) {
      if (o[field] === undefined) throw at(field, `missing; ${SHAPES}`);
      if (typeof o[field] !== 'string')
        throw at(field, `expected a string, got ${describe(o[field])}`);
    }
    if (o.completion === '') throw at('completion', 'is empty; expected at least one character');
    return { kind: 'text', prompt: o.prompt as string, completion: o.completion as string };
  }
  const keys = Object.keys(o);
  throw at('', `${SHAPES}, got ${keys.length ? `keys ${keys.join(', ')}` : 'an empty object'}`);
}

export async function loadRollouts(
  file: string,
  options: LoadRolloutsOptions = {},
): Promise<RolloutLine[]> {
  // a FIFO would block readFile forever
  assertRegularFile(file, 'a rollouts JSONL file (--rollouts)');
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new Error(`${file}: cannot read rollouts (${e.message})`);
  });
  const out: RolloutLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    out.push(parseRolloutLine(line, file, i + 1, options));
  });
  if (out.length === 0) throw new Error(`${file}: no rollouts (the file has no non-empty line)`);
  return out;
}
