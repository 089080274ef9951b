import {
  buildBatch,
  COMPLETION_MASK_CONVENTIONS,
  type CompletionMaskConvention,
  maskConvention,
  measureEntropy,
  optionFields,
  uploadWeights,
} from '@oneshot-em/core';
import { encodePrompt, loadModel, loadPrompts, loadRollouts } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { createBackend } from '../backends.js';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { addSchemaFlags, parseSchemaFlags } from '../flags.js';
import { modelDir, STORY_HELDOUT_PROMPTS } from '../model-source.js';
import { addRenamedFlags, LOSS_TEMPERATURE_RENAME, resolveRenamedFlags } from '../renamed-flags.js';
import { addRuntimeFlags, assertFitsContext, greedyCompletions } from './generate.js';

/** entropy's value flags: the shared fields (and ranges) of every command. */
const entropyFlagsSchema = z.object({
  lossTemperature: optionFields
    .positiveTemperature()
    .default(1)
    .describe('softmax temperature T of the entropy (the statistics)'),
  maxNewTokens: optionFields.maxNewTokens().default(64).describe('greedy completion length'),
});

export function registerEntropy(program: Command): void {
  const cmd = program
    .command('entropy')
    .description(
      'mean token entropy of a model on its own greedy completions of prompts, or on given completions',
    )
    .addOption(
      new Option('--prompt <text>', 'a prompt (repeatable)').argParser(
        (v: string, p: string[] = []) => [...p, v],
      ),
    )
    .addOption(new Option('--data <file>', 'prompts from .jsonl or .parquet'))
    .addOption(new Option('--field <name>', 'prompt column/key of --data').default('problem'))
    .addOption(new Option('--rollouts <file>', 'given completions (the train --rollouts format)'))
    .addOption(
      new Option('--chat-template <mode>', '').choices(['auto', 'on', 'off']).default('auto'),
    )
    .addOption(
      new Option(
        '--mask <convention>',
        "which positions count: paper (the One-shot EM trainer's, t ≥ prompt length) or shifted (the logits that predicted each completion token); 'reference' is paper's deprecated name",
      )
        .default('paper')
        .argParser(parseMask),
    )
    .addOption(new Option('--json', 'print the result as JSON'));
  addSchemaFlags(cmd, entropyFlagsSchema);
  addRuntimeFlags(cmd);
  addRenamedFlags(cmd, [LOSS_TEMPERATURE_RENAME]);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseSchemaFlags(
      entropyFlagsSchema,
      resolveRenamedFlags(raw, [LOSS_TEMPERATURE_RENAME]),
    );
    const { dir, embedded } = modelDir(o.model);
    const model = loadModel(dir);
    let prompts: number[][];
    let completions: number[][] | undefined;
    if (o.rollouts) {
      const rows = await loadRollouts(o.rollouts, { vocabSize: model.config.vocabSize });
      prompts = rows.map((r) =>
        r.kind === 'ids' ? r.promptIds : encodePrompt(model, r.prompt, o.chatTemplate),
      );
      completions = rows.map((r) =>
        r.kind === 'ids'
          ? r.completionIds
          : model.tokenizer.encode(r.completion, { addSpecialTokens: false }),
      );
    } else {
      const texts: string[] =
        o.prompt ??
        (o.data ? await loadPrompts(o.data, o.field) : embedded ? STORY_HELDOUT_PROMPTS : []);
      if (texts.length === 0) throw new UserError('give --prompt, --data or --rollouts');
      prompts = texts.map((t) => encodePrompt(model, t, o.chatTemplate));
    }
    if (!completions)
      assertFitsContext(prompts, o.maxNewTokens, model.config.maxPositionEmbeddings);
    const backend = await createBackend(o.backend, o.device, model.config);
    try {
      const w = uploadWeights(backend, model.config, model.weights);
      completions ??= await greedyCompletions(backend, model, w, prompts, o.maxNewTokens);
      const report = await measureEntropy(
        backend,
        model.config,
        w,
        buildBatch(prompts, completions, model.padId),
        {
          temperature: o.lossTemperature,
          mask: o.mask,
          eosIds: model.eosIds,
        },
      );
      const out = {
        model: dir,
        backend: backend.name,
        loss_temperature: o.lossTemperature,
        mask: o.mask,
        sequences: prompts.length,
        positions: report.positions,
        mean_entropy: report.meanEntropy,
        mean_collision_prob: report.meanCollisionProb,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else {
        process.stdout.write(
          `mean token entropy ${report.meanEntropy.toFixed(4)} nats (T=${o.lossTemperature}, ${report.positions} positions, ${prompts.length} sequences, ${backend.name})\n`,
        );
      }
    } finally {
      await backend.destroy();
    }
  });
}

/** `--mask`: a convention name (old names map to new ones with a deprecation line). */
function parseMask(value: string): CompletionMaskConvention {
  const name = maskConvention(value);
  if (!COMPLETION_MASK_CONVENTIONS.includes(name as CompletionMaskConvention))
    throw new UserError(`--mask: expected paper or shifted, got '${value}'`);
  return name as CompletionMaskConvention;
}
