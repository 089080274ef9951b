import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Backend,
  buildBatch,
  compareReport,
  completionMask,
  createObjectiveBatch,
  disposeSaved,
  type ModelTokenStats,
  modelForward,
  modelLogits,
  optionFields,
  snakeCaseKeys,
  type TrainBatch,
  uploadWeights,
} from '@oneshot-em/core';
import { encodePrompt, type LoadedModel, loadModel, loadPrompts } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { createBackend } from '../backends.js';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { addSchemaFlags, parseSchemaFlags } from '../flags.js';
import { writeOutFile } from '../run-dir.js';
import { MATH_HELDOUT_PROMPTS, STORY_HELDOUT_PROMPTS } from '../model-source.js';
import { addRenamedFlags, LOSS_TEMPERATURE_RENAME, resolveRenamedFlags } from '../renamed-flags.js';
import { addRuntimeFlags, assertFitsContext, greedyCompletions } from './generate.js';

/** compare's value flags: the shared fields (and ranges) of every command. */
const compareFlagsSchema = z.object({
  maxNewTokens: optionFields
    .maxNewTokens()
    .default(64)
    .describe("the base model's greedy completion length"),
  lossTemperature: optionFields
    .positiveTemperature()
    .default(1)
    .describe('softmax temperature T of the statistics'),
});

/** At most this many logit values per model go into the histogram (a uniform subsample). */
const MAX_LOGIT_SAMPLES = 1 << 20;
const CHUNK_TOKENS = 64;

/**
 * Per completion position: entropy and max probability of softmax(z / T), from the logits read
 * chunk by chunk (a diagnostic, not the training path: it reads logits to the host).
 */
async function tokenStats(
  backend: Backend,
  model: LoadedModel,
  batch: TrainBatch,
  temperature: number,
): Promise<ModelTokenStats> {
  const { config } = model;
  const { B, T } = batch;
  const N = B * T;
  const V = config.vocabSize;
  const mask = completionMask(
    createObjectiveBatch({
      B,
      T,
      V,
      ids: batch.ids,
      promptLength: batch.promptLength,
      padId: batch.padId,
      eosIds: model.eosIds,
    }),
    'paper',
  );
  const positions = mask.reduce((n, m) => n + (m ? 1 : 0), 0);
  const stride = Math.max(1, Math.ceil((positions * V) / MAX_LOGIT_SAMPLES));
  const w = uploadWeights(backend, config, model.weights);
  const ids = backend.upload(batch.ids, [N]);
  const pos = backend.upload(batch.positions, [N]);
  const keyMask = backend.upload(batch.keyMask, [B, T]);
  const { hidden, saved } = modelForward(backend, config, w, {
    ids,
    positions: pos,
    keyMask,
    B,
    T,
  });
  const entropies: number[] = [];
  const maxProbs: number[] = [];
  const logits: number[] = [];
  for (let start = 0; start < N; start += CHUNK_TOKENS) {
    const n = Math.min(CHUNK_TOKENS, N - start);
    const h = backend.sliceRows(hidden, start, n);
    const z = modelLogits(backend, config, w, h); // [n, V]
    const host = await backend.read(z);
    backend.dispose(h);
    backend.dispose(z);
    for (let r = 0; r < n; r++) {
      if (!mask[start + r]) continue;
      const row = host.subarray(r * V, (r + 1) * V);
      let max = -Infinity;
      for (let j = 0; j < V; j++) max = Math.max(max, row[j] / temperature);
      let sum = 0;
      let ez = 0;
      for (let j = 0; j < V; j++) {
        const e = Math.exp(row[j] / temperature - max);
        sum += e;
        ez += e * (row[j] / temperature - max);
      }
      entropies.push(Math.log(sum) - ez / sum);
      maxProbs.push(1 / sum);
      for (let j = (start + r) % stride; j < V; j += stride) logits.push(row[j]);
    }
  }
  disposeSaved(backend, saved);
  for (const t of [hidden, ids, pos, keyMask, ...w.values()]) backend.dispose(t);
  return { logits, entropies, maxProbs };
}

export function registerCompare(program: Command): void {
  const cmd = program
    .command('compare')
    .description(
      "base vs trained model on the same sequences: mean token entropy, mean max-probability, and side-by-side histograms of logits and token entropies (the paper's logit-shift figure)",
    )
    .addOption(new Option('--base <dir>', 'the model before training').makeOptionMandatory())
    .addOption(new Option('--trained <dir>', 'the model after training').makeOptionMandatory())
    .addOption(
      new Option('--prompt <text>', 'a prompt (repeatable)').argParser(
        (v: string, p: string[] = []) => [...p, v],
      ),
    )
    .addOption(new Option('--data <file>', 'prompts from .jsonl or .parquet'))
    .addOption(new Option('--field <name>', '').default('problem'))
    .addOption(
      new Option('--chat-template <mode>', '').choices(['auto', 'on', 'off']).default('auto'),
    )
    .addOption(
      new Option('--out <dir>', 'compare.json, logits.svg, entropy.svg').default('runs/compare'),
    )
    .addOption(new Option('--json', 'print the summary as JSON'));
  addSchemaFlags(cmd, compareFlagsSchema);
  addRuntimeFlags(cmd, { model: false });
  addRenamedFlags(cmd, [LOSS_TEMPERATURE_RENAME]);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseSchemaFlags(
      compareFlagsSchema,
      resolveRenamedFlags(raw, [LOSS_TEMPERATURE_RENAME]),
    );
    const base = loadModel(o.base);
    const trained = loadModel(o.trained);
    if (base.config.vocabSize !== trained.config.vocabSize) {
      throw new UserError(
        `${o.trained}: vocab_size ${trained.config.vocabSize} differs from ${o.base}'s ${base.config.vocabSize}`,
      );
    }
    const texts: string[] =
      o.prompt ??
      (o.data
        ? await loadPrompts(o.data, o.field)
        : base.config.vocabSize <= 512
          ? STORY_HELDOUT_PROMPTS
          : MATH_HELDOUT_PROMPTS);
    const prompts = texts.map((t) => encodePrompt(base, t, o.chatTemplate));
    assertFitsContext(prompts, o.maxNewTokens, base.config.maxPositionEmbeddings);
    const backend = await createBackend(o.backend, o.device, base.config);
    try {
      const w = uploadWeights(backend, base.config, base.weights);
      const completions = await greedyCompletions(backend, base, w, prompts, o.maxNewTokens);
      for (const t of w.values()) backend.dispose(t);
      const batch = buildBatch(prompts, completions, base.padId);
      const report = compareReport(
        await tokenStats(backend, base, batch, o.lossTemperature),
        await tokenStats(backend, trained, batch, o.lossTemperature),
        { labels: ['base', 'trained'] },
      );
      mkdirSync(o.out, { recursive: true });
      const summaryJson = snakeCaseKeys(report.summary);
      writeOutFile(join(o.out, 'compare.json'), `${JSON.stringify(summaryJson, null, 2)}\n`);
      writeOutFile(join(o.out, 'logits.svg'), report.logitSvg);
      writeOutFile(join(o.out, 'entropy.svg'), report.entropySvg);
      const s = report.summary;
      if (o.json) process.stdout.write(`${JSON.stringify(summaryJson)}\n`);
      else {
        process.stdout.write(
          `mean token entropy  base ${s.base.meanEntropy.toFixed(4)}  trained ${s.trained.meanEntropy.toFixed(4)}\n` +
            `mean max-probability base ${s.base.meanMaxProb.toFixed(4)}  trained ${s.trained.meanMaxProb.toFixed(4)}\n` +
            `(${o.out}/compare.json, logits.svg, entropy.svg)\n`,
        );
      }
    } finally {
      await backend.destroy();
    }
  });
}
