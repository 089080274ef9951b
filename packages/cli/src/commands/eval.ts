import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatResultsJson,
  formatResultsMarkdown,
  formatResultsTable,
  PAPER_BENCHMARKS,
  rollout,
  uploadWeights,
} from '@oneshot-em/core';
import { loadModel, runEval } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { createBackend } from '../backends.js';
import { modelDir } from '../model-source.js';
import { addRuntimeFlags, completionText } from './generate.js';

const num = (v: string) => Number(v);

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
    .addOption(new Option('--limit <n>', 'first n problems of each benchmark').argParser(num))
    .addOption(
      new Option('--n <n>', 'samples per problem (pass@1 over samples, pass@k, maj@k)')
        .argParser(num)
        .default(1),
    )
    .addOption(new Option('--temperature <t>', '0 = greedy (the paper)').argParser(num))
    .addOption(new Option('--top-p <p>', '').argParser(num).default(1))
    .addOption(
      new Option('--max-new-tokens <n>', 'the harness uses 3072').argParser(num).default(3072),
    )
    .addOption(
      new Option('--batch-size <n>', 'prompts per generation batch').argParser(num).default(16),
    )
    .addOption(new Option('--seed <s>', '').argParser(num).default(0))
    .addOption(
      new Option('--out <dir>', 'problems.jsonl, results.json, results.md').default('runs/eval'),
    )
    .addOption(new Option('--json', 'print the results as JSON'));
  addRuntimeFlags(cmd);
  cmd.action(async (o) => {
    const { dir } = modelDir(o.model);
    const model = loadModel(dir);
    const temperature = o.temperature ?? (o.n > 1 ? 0.6 : 0);
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
          const ids = prompts.map((p) =>
            model.tokenizer.encode(p, { addSpecialTokens: !useTemplate }),
          );
          const flat = ids.flatMap((p) => Array.from({ length: o.n }, () => p));
          const limit = Math.min(
            o.maxNewTokens,
            model.config.maxPositionEmbeddings - Math.max(...ids.map((p) => p.length)),
          );
          const r = await rollout(backend, model.config, w, {
            prompts: flat,
            sampling: { temperature, topP: o.topP, topK: 0, repetitionPenalty: 1 },
            maxNewTokens: Math.max(1, limit),
            seed: o.seed,
            eosIds: model.eosIds,
            padId: model.padId,
            counterBase: batchNo++ * flat.length * o.maxNewTokens,
          });
          return ids.map((p, i) =>
            r.completions
              .slice(i * o.n, (i + 1) * o.n)
              .map((c) => completionText(model.tokenizer, p, c)),
          );
        },
      });
      process.stderr.write('\n');
      writeFileSync(join(o.out, 'results.md'), formatResultsMarkdown(results));
      process.stdout.write(o.json ? formatResultsJson(results) : formatResultsTable(results));
      if (!o.json)
        process.stdout.write(`\n(${join(o.out, 'problems.jsonl')}, results.json, results.md)\n`);
    } finally {
      await backend.destroy();
    }
  });
}
