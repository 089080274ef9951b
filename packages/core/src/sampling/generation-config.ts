import type { z } from 'zod';
import type { SamplingParams } from '../backend/tensor-ops.js';
import { MAX_NEW_TOKENS, optionFields } from '../train/option-fields.js';

/**
 * `generate`'s decoding settings as transformers' `model.generate()` picks them: an explicit
 * setting (a flag) wins, then the model's generation_config.json, then transformers'
 * GenerationConfig defaults. A `null` in the file is transformers' None: that warper is off.
 * (`train` does not come here: its rollouts keep the paper's settings as defaults.)
 */

/** transformers' GenerationConfig defaults for what generation_config.json leaves out. */
export const TRANSFORMERS_GENERATION_DEFAULTS = {
  doSample: false,
  temperature: 1,
  topP: 1,
  topK: 50,
  minP: 0,
  repetitionPenalty: 1,
} as const;

/**
 * Where neither a flag, max_new_tokens nor max_length bounds the completion. (transformers'
 * own default is max_length 20 tokens in all, prompt included: too short to be useful.)
 */
export const FALLBACK_MAX_NEW_TOKENS = 256;

/** What the user asked for explicitly; undefined: not given. */
export interface GenerationFlags {
  /** `--greedy` */
  greedy?: boolean;
  /** `--do-sample` */
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
}

export interface ResolvedGeneration {
  doSample: boolean;
  /** temperature 0 when greedy */
  sampling: Required<SamplingParams>;
  maxNewTokens: number;
}

/** The settings generation_config.json may carry, its key → our field. */
const FILE_FIELDS = {
  temperature: 'temperature',
  top_p: 'topP',
  top_k: 'topK',
  min_p: 'minP',
  repetition_penalty: 'repetitionPenalty',
} as const;

/** The value a `null` (transformers' None) stands for: that processor is not used. */
const DISABLED = { temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1 } as const;

const FIELD_SCHEMAS = {
  temperature: optionFields.temperature(),
  topP: optionFields.topP(),
  topK: optionFields.topK(),
  minP: optionFields.minP(),
  repetitionPenalty: optionFields.repetitionPenalty(),
};

function fileValue(
  file: Record<string, unknown>,
  fileName: string,
  key: string,
  schema: z.ZodType,
): number | null | undefined {
  const v = file[key];
  if (v === undefined || v === null) return v;
  const r = schema.safeParse(v);
  if (!r.success) throw new Error(`${fileName}: ${key}: ${r.error.issues[0]?.message}`);
  return v as number;
}

/**
 * Resolves the decoding settings. `file` is generation_config.json's content (undefined when the
 * model has none); `fileName` names it in errors; `longestPrompt` (tokens) turns a max_length
 * into new tokens as transformers does. A sampling flag (--temperature > 0, --top-p, --top-k,
 * --min-p) turns sampling on where --greedy is absent: whoever names one wants it (transformers
 * would warn and decode greedily); --temperature 0 is greedy.
 */
export function resolveGeneration(
  file: unknown,
  fileName: string,
  flags: GenerationFlags,
  longestPrompt: number,
): ResolvedGeneration {
  if (file !== undefined && (file === null || typeof file !== 'object' || Array.isArray(file))) {
    throw new Error(`${fileName}: expected a JSON object of generation settings`);
  }
  const f = (file ?? {}) as Record<string, unknown>;
  if (flags.greedy && flags.doSample) {
    throw new Error('--greedy and --do-sample contradict each other; give one');
  }
  const fileDoSample = f.do_sample;
  if (fileDoSample !== undefined && fileDoSample !== null && typeof fileDoSample !== 'boolean') {
    throw new Error(
      `${fileName}: do_sample: expected true or false, got ${JSON.stringify(fileDoSample)}`,
    );
  }
  const samplingFlag =
    (flags.temperature !== undefined && flags.temperature > 0) ||
    flags.topP !== undefined ||
    flags.topK !== undefined ||
    flags.minP !== undefined;
  let doSample: boolean;
  if (flags.greedy || flags.temperature === 0) doSample = false;
  else if (flags.doSample || samplingFlag) doSample = true;
  else doSample = fileDoSample ?? TRANSFORMERS_GENERATION_DEFAULTS.doSample;

  const pick = (key: keyof typeof FILE_FIELDS) => {
    const field = FILE_FIELDS[key];
    const flag = flags[field];
    if (flag !== undefined) return flag;
    const v = fileValue(f, fileName, key, FIELD_SCHEMAS[field]);
    if (v === null) return DISABLED[field];
    return v ?? TRANSFORMERS_GENERATION_DEFAULTS[field];
  };
  // the repetition penalty is a logits processor, not a sampling warper: greedy uses it too
  const repetitionPenalty = pick('repetition_penalty');
  const sampling: Required<SamplingParams> = doSample
    ? {
        temperature: pick('temperature'),
        topP: pick('top_p'),
        topK: pick('top_k'),
        minP: pick('min_p'),
        repetitionPenalty,
      }
    : { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty };
  if (doSample && sampling.temperature === 0) {
    // a file asking to sample at temperature 0: transformers refuses it; we decode greedily
    sampling.topP = 1;
    sampling.topK = 0;
    sampling.minP = 0;
    doSample = false;
  }
  return { doSample, sampling, maxNewTokens: maxNewTokens(f, fileName, flags, longestPrompt) };
}

function maxNewTokens(
  f: Record<string, unknown>,
  fileName: string,
  flags: GenerationFlags,
  longestPrompt: number,
): number {
  if (flags.maxNewTokens !== undefined) return flags.maxNewTokens;
  const schema = optionFields.maxNewTokens();
  const fromFile = fileValue(f, fileName, 'max_new_tokens', schema);
  if (typeof fromFile === 'number') return fromFile;
  const maxLength = fileValue(f, fileName, 'max_length', optionFields.positiveInt());
  if (typeof maxLength === 'number') {
    if (maxLength <= longestPrompt) {
      throw new Error(
        `${fileName}: max_length ${maxLength} leaves no room after the prompt (${longestPrompt} tokens); give --max-new-tokens`,
      );
    }
    return Math.min(maxLength - longestPrompt, MAX_NEW_TOKENS);
  }
  return FALLBACK_MAX_NEW_TOKENS;
}
