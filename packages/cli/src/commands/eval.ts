import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatResultsJson,
  formatResultsMarkdown,
  formatResultsTable,
  MAX_SAMPLES,
  optionFields,
  PAPER_BENCHMARKS,
  rollout,
  uploadWeights,
} from '@oneshot-em/core';
import { loadModel, runEval } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { createBackend } from '../backends.js';
import { UserError } from '../errors.js';
import { addSchemaFlags, parseSchemaFlags } from '../flags.js';
import { claimEvalOut, evalKey } from '../eval-key.js';
import { modelDir } from '../model-source.js';
import { writeOutFile } from '../run-dir.js';
import { lockOut } from '../run-lock.js';
import { addRuntimeFlags, completionText } from './generate.js';

/** eval's value flags: the shared fields (and ranges) of every command. */
const evalFlagsSchema = z.object({
  limit: optionFields.positiveInt().optional().describe('first n problems of each benchmark'),
  n: optionFields
    .samples()
    .default(1)
    .describe('samples per problem (pass@1 over samples, pass@k, maj@k)'),
  temperature: optionFields
    .temperature()
    .optional()
    .describe('0 = greedy (the paper); default 0, or 0.6 with --n > 1'),
  topP: optionFields.topP().default(1).describe('nucleus sampling (1 disables)'),
  maxNewTokens: optionFields.maxNewTokens().default(3072).describe('the harness uses 3072'),
  batchSize: optionFields.samples().default(16).describe('prompts per generation batch'),
  seed: optionFields.seed().default(0).describe('fixes the samples on a backend and device'),
});

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description(
      "accuracy on the paper's math benchmarks (Qwen2.5-Math CoT prompt, \\boxed{} answers, graded by mathematical equivalence); resumable",
    )
    .addOption(
      new Option(
        '--bench <list>',
        `comma-separated: ${PAPER_BENCHMARKS.join(',')},aime25,gsm8k,amc23x8`,
      ).default(PAPER_BENCHMARKS.join(',')),
    )
    .addOption(
      new Option('--out <dir>', 'problems.jsonl, results.json, results.md').default('runs/eval'),
    )
    .addOption(new Option('--json', 'print the results as JSON'))
    .addOption(
      new Option(
        '--overwrite',
        'replace a previous eval of another model or settings in --out (its problems.jsonl, results)',
      ),
    );
  addSchemaFlags(cmd, evalFlagsSchema);
  addRuntimeFlags(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseSchemaFlags(evalFlagsSchema, raw);
    if (o.n * o.batchSize > MAX_SAMPLES) {
      throw new UserError(
        `--n ${o.n} × --batch-size ${o.batchSize} is ${o.n * o.batchSize} sequences per batch; at most ${MAX_SAMPLES} (lower --batch-size)`,
      );
    }
    const { dir } = modelDir(o.model);
    const model = loadModel(dir);
    const temperature = o.temperature ?? (o.n > 1 ? 0.6 : 0);
    const unlock = lockOut(o.out, `oneshot-em ${process.argv.slice(2).join(' ')}`, (s) =>
      process.stderr.write(`${s}\n`),
    );
    claimEvalOut(
      o.out,
      evalKey(dir, {
        backend: o.backend,
        device: o.device ?? null,
        n: o.n,
        temperature,
        top_p: o.topP,
        max_new_tokens: o.maxNewTokens,
        batch_size: o.batchSize,
        seed: o.seed,
      }),
      o.overwrite === true,
    );
    const backend = await createBackend(o.backend, o.device, model.config);
    const w = uploadWeights(backend, model.config, model.weights);
    const useTemplate = model.tokenizer.hasChatTemplate;
    let batchNo = 0;
    try {
      mkdirSync(o.out, { recursive: true });
      const results = await runEval({
        benchmarks: String(o.bench)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        limit: o.limit,
        n: o.n,
        outDir: o.out,
        resume: true,
        batchSize: o.batchSize,
        applyChatTemplate: useTemplate
          ? (messages) =>
              model.tokenizer.applyChatTemplate([...messages], { addGenerationPrompt: true })
          : undefined,
        onProgress: ({ benchmark, done, total }) =>
          process.stderr.write(`\r${benchmark} ${done}/${total}   `),
        generate: async (prompts) => {
          const context = model.config.maxPositionEmbeddings;
          // a prompt that cannot be encoded, or leaves no room for one new token, is that
          // problem's error, not the eval's
          const all = prompts.map((p) => {
            try {
              return model.tokenizer.encode(p, { addSpecialTokens: !useTemplate });
            } catch (e) {
              return new Error(`tokenizer: ${(e as Error).message}`);
            }
          });
          const tooLong = all.map((p) =>
            p instanceof Error
              ? p
              : p.length >= context
                ? new Error(
                    `prompt is ${p.length} tokens; the model's context (max_position_embeddings) is ${context}`,
                  )
                : undefined,
          );
          const ids = all.filter((_, i) => !tooLong[i]) as number[][];
          if (ids.length === 0) return tooLong as Error[];
          const flat = ids.flatMap((p) => Array.from({ length: o.n }, () => p));
          const limit = Math.min(o.maxNewTokens, context - Math.max(...ids.map((p) => p.length)));
          const r = await rollout(backend, model.config, w, {
            prompts: flat,
            sampling: { temperature, topP: o.topP, topK: 0, repetitionPenalty: 1 },
            maxNewTokens: Math.max(1, limit),
            seed: o.seed,
            eosIds: model.eosIds,
            padId: model.padId,
            counterBase: batchNo++ * flat.length * o.maxNewTokens,
          });
          const texts = ids.map((p, i) =>
            r.completions
              .slice(i * o.n, (i + 1) * o.n)
              .map((c) => completionText(model.tokenizer, p, c)),
          );
          return tooLong.map((e) => e ?? (texts.shift() as string[]));
        },
      });
      process.stderr.write('\n');
      writeOutFile(join(o.out, 'results.md'), formatResultsMarkdown(results));
      if (results.errors > 0) {
        process.stderr.write(
          `${results.errors} problem(s) could not run (counted as wrong; their "error" is in ${join(o.out, 'problems.jsonl')})\n`,
        );
      }
      process.stdout.write(o.json ? formatResultsJson(results) : formatResultsTable(results));
      if (!o.json)
        process.stdout.write(`\n(${join(o.out, 'problems.jsonl')}, results.json, results.md)\n`);
    } finally {
      await backend.destroy();
      unlock();
    }
  });
}
