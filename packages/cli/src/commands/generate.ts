import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Backend,
  FALLBACK_MAX_NEW_TOKENS,
  MAX_SAMPLES,
  optionFields,
  type ModelWeights,
  resolveGeneration,
  rollout,
  type Tokenizer,
  uploadWeights,
} from '@oneshot-em/core';
import { encodePrompt, type LoadedModel, loadModel, readJsonFile } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { createBackend } from '../backends.js';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { addSchemaFlags, parseSchemaFlags } from '../flags.js';
import { modelDir } from '../model-source.js';

/**
 * A completion's text as it reads after its prompt: decoding it alone would drop a leading
 * space (sentencepiece-style decoders strip it at the start of a sequence).
 */
export function completionText(tok: Tokenizer, promptIds: number[], ids: number[]): string {
  const head = tok.decode(promptIds, { skipSpecialTokens: true });
  const full = tok.decode([...promptIds, ...ids], { skipSpecialTokens: true });
  return full.startsWith(head)
    ? full.slice(head.length)
    : tok.decode(ids, { skipSpecialTokens: true });
}

/**
 * generate's decoding flags: the same fields (and ranges) as train's, but no defaults of their
 * own — what is not given comes from the model's generation_config.json, as in transformers.
 */
const fromFile = (field: string, fallback: string) =>
  `(default: generation_config.json's ${field}, else ${fallback})`;
const generateFlagsSchema = z.object({
  temperature: optionFields
    .temperature()
    .optional()
    .describe(`sampling temperature, 0 = greedy ${fromFile('temperature', '1')}`),
  topP: optionFields
    .topP()
    .optional()
    .describe(`nucleus sampling, 1 disables ${fromFile('top_p', '1')}`),
  topK: optionFields
    .topK()
    .optional()
    .describe(`0 disables ${fromFile('top_k', '50')}`),
  minP: optionFields
    .minP()
    .optional()
    .describe(
      `drop tokens below min_p × the top probability, 0 disables ${fromFile('min_p', '0')}`,
    ),
  repetitionPenalty: optionFields
    .repetitionPenalty()
    .optional()
    .describe(`1 disables; greedy uses it too ${fromFile('repetition_penalty', '1')}`),
  maxNewTokens: optionFields
    .maxNewTokens()
    .optional()
    .describe(
      `completion length limit (default: generation_config.json's max_new_tokens, else its max_length minus the prompt, else ${FALLBACK_MAX_NEW_TOKENS})`,
    ),
  n: optionFields
    .samples()
    .default(1)
    .describe(`completions per prompt (at most ${MAX_SAMPLES} sequences in all)`),
  seed: optionFields.seed().default(42).describe('fixes the samples on a backend and device'),
});

/**
 * One `--json` line: a valid `train --rollouts` line (prompt_ids + completion_ids, the ids
 * form, so training sees exactly these tokens), with the texts and why it stopped.
 */
export function rolloutJsonLine(
  prompt: string,
  promptIds: number[],
  completionIds: number[],
  completion: string,
  stoppedAtEos: boolean,
): string {
  return JSON.stringify({
    prompt,
    completion,
    prompt_ids: promptIds,
    completion_ids: completionIds,
    finish_reason: stoppedAtEos ? 'stop' : 'length',
  });
}

/** Runs `f`, its errors being about what the user gave (flags, the model's files): exit 2. */
function asUserError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** Refuses a prompt that leaves no room for --max-new-tokens in the model's context. */
export function assertFitsContext(prompts: number[][], maxNewTokens: number, context: number) {
  const longest = Math.max(0, ...prompts.map((p) => p.length));
  if (longest + maxNewTokens > context) {
    throw new UserError(
      `prompt (${longest} tokens) + --max-new-tokens ${maxNewTokens} exceeds the model's context of ${context} (max_position_embeddings)`,
    );
  }
}

/**
 * The model's greedy completions of `prompts` (entropy's and compare's sequences to score); an
 * empty one (EOS first, or --max-new-tokens 0) becomes that EOS so every sequence has a position.
 */
export async function greedyCompletions(
  backend: Backend,
  model: LoadedModel,
  w: ModelWeights,
  prompts: number[][],
  maxNewTokens: number,
): Promise<number[][]> {
  const r = await rollout(backend, model.config, w, {
    prompts,
    sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
    maxNewTokens,
    seed: 0,
    eosIds: model.eosIds,
    padId: model.padId,
  });
  return r.completions.map((c) => (c.length ? c : [model.eosIds[0]]));
}

/**
 * Flags shared by generate / entropy / eval / compare: where the model runs, and (unless the
 * command names its models otherwise, as compare's --base/--trained) which model.
 */
export function addRuntimeFlags(cmd: Command, { model = true }: { model?: boolean } = {}): Command {
  if (model) {
    cmd.addOption(
      new Option('--model <dir>', 'Hugging Face model directory (default: embedded stories260K)'),
    );
  }
  return cmd
    .addOption(
      new Option('--backend <name>', 'executor')
        .choices(['ort', 'dawn', 'reference'])
        .default('ort'),
    )
    .addOption(new Option('--device <device>', 'ort: cpu|cuda[:N]; dawn: adapter index or name'));
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('sample or greedily decode completions (an empty prompt starts from BOS)')
    .addOption(
      new Option('--prompt <text>', 'the prompt (repeat for a batch)').argParser(
        (v: string, prev: string[] = []) => [...prev, v],
      ),
    )
    .addOption(
      new Option('--chat-template <mode>', 'apply the chat template')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--system <text>',
        'a system message before each prompt (through the chat template)',
      ),
    )
    .addOption(new Option('--greedy', 'argmax decoding, the same as --temperature 0'))
    .addOption(
      new Option(
        '--do-sample',
        "sample (default: generation_config.json's do_sample, else greedy; any sampling flag implies it)",
      ),
    )
    .addOption(
      new Option(
        '--json',
        'print one JSON line per completion: prompt, completion, prompt_ids, completion_ids, finish_reason (a train --rollouts file)',
      ),
    );
  addSchemaFlags(cmd, generateFlagsSchema);
  addRuntimeFlags(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseSchemaFlags(generateFlagsSchema, raw);
    const { dir } = modelDir(o.model);
    const model = loadModel(dir);
    const texts: string[] = o.prompt ?? [''];
    if (texts.length * o.n > MAX_SAMPLES) {
      throw new UserError(
        `--n ${o.n} × ${texts.length} prompts is ${texts.length * o.n} sequences; at most ${MAX_SAMPLES} are decoded in one batch`,
      );
    }
    const prompts: number[][] = [];
    const which: number[] = [];
    texts.forEach((t, i) => {
      const ids = asUserError(() =>
        encodePrompt(
          model,
          t,
          t === '' && o.system === undefined ? 'off' : o.chatTemplate,
          o.system,
        ),
      );
      for (let k = 0; k < o.n; k++) {
        prompts.push(ids);
        which.push(i);
      }
    });
    const genFile = join(dir, 'generation_config.json');
    const longest = Math.max(...prompts.map((p) => p.length));
    const file = existsSync(genFile) ? readJsonFile(genFile) : undefined;
    const settings = asUserError(() => resolveGeneration(file, genFile, o, longest));
    assertFitsContext(prompts, settings.maxNewTokens, model.config.maxPositionEmbeddings);
    const backend = await createBackend(o.backend, o.device, model.config);
    try {
      const w = uploadWeights(backend, model.config, model.weights);
      const r = await rollout(backend, model.config, w, {
        prompts,
        sampling: settings.sampling,
        maxNewTokens: settings.maxNewTokens,
        seed: o.seed,
        eosIds: model.eosIds,
        padId: model.padId,
      });
      r.completions.forEach((ids, j) => {
        const text = completionText(model.tokenizer, prompts[j], ids);
        if (o.json) {
          const eos = ids.length > 0 && model.eosIds.includes(ids[ids.length - 1]);
          process.stdout.write(`${rolloutJsonLine(texts[which[j]], prompts[j], ids, text, eos)}\n`);
        } else {
          process.stdout.write(
            `${texts[which[j]]}${text}\n${r.completions.length > 1 ? '---\n' : ''}`,
          );
        }
      });
    } finally {
      await backend.destroy();
    }
  });
}
