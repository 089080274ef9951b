import {
  MAX_SAMPLES,
  optionFields,
  rollout,
  type Tokenizer,
  uploadWeights,
} from '@oneshot-em/core';
import { encodePrompt, loadModel } from '@oneshot-em/core/node';
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

/** generate's sampling flags: the same fields (and ranges) as train's. */
const generateFlagsSchema = z.object({
  temperature: optionFields
    .temperature()
    .default(0.5)
    .describe('sampling temperature (0 = greedy)'),
  topP: optionFields.topP().default(0.95).describe('nucleus sampling (1 disables)'),
  topK: optionFields.topK().default(0).describe('0 disables'),
  repetitionPenalty: optionFields.repetitionPenalty().default(1.15).describe('1 disables'),
  maxNewTokens: optionFields.maxNewTokens().default(256).describe('completion length limit'),
  n: optionFields
    .samples()
    .default(1)
    .describe(`completions per prompt (at most ${MAX_SAMPLES} sequences in all)`),
  seed: optionFields.seed().default(42).describe('fixes the samples on a backend and device'),
});

/** Refuses a prompt that leaves no room for --max-new-tokens in the model's context. */
export function assertFitsContext(prompts: number[][], maxNewTokens: number, context: number) {
  const longest = Math.max(0, ...prompts.map((p) => p.length));
  if (longest + maxNewTokens > context) {
    throw new UserError(
      `prompt (${longest} tokens) + --max-new-tokens ${maxNewTokens} exceeds the model's context of ${context} (max_position_embeddings)`,
    );
  }
}

/** Flags shared by generate / entropy / eval: where the model runs. */
export function addRuntimeFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--model <dir>', 'Hugging Face model directory (default: embedded stories260K)'),
    )
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
    .addOption(new Option('--greedy', 'argmax decoding, the same as --temperature 0'))
    .addOption(new Option('--json', 'print one JSON line per completion: prompt, ids, text'));
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
      const ids = encodePrompt(model, t, t === '' ? 'off' : o.chatTemplate);
      for (let k = 0; k < o.n; k++) {
        prompts.push(ids);
        which.push(i);
      }
    });
    assertFitsContext(prompts, o.maxNewTokens, model.config.maxPositionEmbeddings);
    const backend = await createBackend(o.backend, o.device, model.config);
    try {
      const w = uploadWeights(backend, model.config, model.weights);
      const r = await rollout(backend, model.config, w, {
        prompts,
        sampling: {
          temperature: o.greedy ? 0 : o.temperature,
          topP: o.topP,
          topK: o.topK,
          repetitionPenalty: o.repetitionPenalty,
        },
        maxNewTokens: o.maxNewTokens,
        seed: o.seed,
        eosIds: model.eosIds,
        padId: model.padId,
      });
      r.completions.forEach((ids, j) => {
        const text = completionText(model.tokenizer, prompts[j], ids);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ prompt: texts[which[j]], prompt_ids: prompts[j], ids, text })}\n`,
          );
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
