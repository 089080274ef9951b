import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import {
  type Backend,
  buildBatch,
  measureEntropy,
  parseTrainOptions,
  resolveWarmupSteps,
  rollout,
  type StepMetrics,
  type TrainOptions,
  trainOptionsSchema,
  uploadWeights,
} from '@oneshot-em/core';
import {
  assertRegularFile,
  encodePrompt,
  type LoadedModel,
  loadCheckpointState,
  loadModel,
  loadPrompts,
  loadRollouts,
  parseShardSize,
  type RolloutSource,
  resolveObjective,
  train,
} from '@oneshot-em/core/node';

import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createBackend } from '../backends.js';
import { UserError } from '../errors.js';
import { addSchemaFlags } from '../flags.js';
import {
  MATH_HELDOUT_PROMPTS,
  modelDir,
  STORY_HELDOUT_PROMPTS,
  STORY_TRAIN_PROMPT,
} from '../model-source.js';
import { createProgress, stepLine } from '../progress.js';
import { assertOutUsable, clearRun, nameRunFileError } from '../run-dir.js';
import { identityChanges, readRunConfig, splitConfigFile, writeRunConfig } from '../run-config.js';
import { lockOut } from '../run-lock.js';
import { addRunDirFlags, checkResume } from './train-resume.js';
import { planJson, planSummary, planTable, planTrain, refusalMessage } from './train-plan.js';

/** Settings that make the embedded 260K model's demo finish in seconds and visibly learn. */
const EMBEDDED_DEFAULTS = { effectiveBatch: 16, microBatch: 8, maxNewTokens: 64, lr: 1e-3 };

function readConfigFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new UserError(`${file}: config file not found`);
  assertRegularFile(file, 'a config file');
  const text = readFileSync(file, 'utf8');
  try {
    const v = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new Error('expected a mapping of keys to values');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${file}: ${(e as Error).message}`);
  }
}

/** Mean token entropy (T = 1) of the current weights on fixed held-out sequences. */
async function heldoutEntropy(
  backend: Backend,
  model: LoadedModel,
  weights: LoadedModel['weights'],
  seqs: { prompts: number[][]; completions: number[][] },
) {
  const w = uploadWeights(backend, model.config, weights);
  const batch = buildBatch(seqs.prompts, seqs.completions, model.padId);
  const r = await measureEntropy(backend, model.config, w, batch, {
    temperature: 1,
    eosIds: model.eosIds,
  });
  for (const t of w.values()) backend.dispose(t);
  return r.meanEntropy;
}

export async function runTrain(
  opts: TrainOptions,
  log: (s: string) => void,
  embedded: boolean,
  hooks: { beforeTrain?: () => void } = {},
): Promise<{ before: number; after: number; finalDir: string }> {
  const { dir } = modelDir(opts.model);
  const model = loadModel(opts.resume ?? dir);
  const copyFrom = dir;
  const prompt =
    opts.prompt ??
    (opts.data || opts.rollouts ? undefined : embedded ? STORY_TRAIN_PROMPT : undefined);
  let source: RolloutSource;
  if (opts.rollouts) {
    const lines = await loadRollouts(opts.rollouts, { vocabSize: model.config.vocabSize });
    source = {
      kind: 'given',
      rows: lines.map((l) =>
        l.kind === 'ids'
          ? { promptIds: l.promptIds, completionIds: l.completionIds }
          : {
              promptIds: encodePrompt(model, l.prompt, opts.chatTemplate),
              completionIds: model.tokenizer.encode(l.completion, { addSpecialTokens: false }),
            },
      ),
    };
    for (const [i, r] of source.rows.entries()) {
      const length = r.promptIds.length + r.completionIds.length;
      if (length > model.config.maxPositionEmbeddings) {
        throw new UserError(
          `${opts.rollouts}:${i + 1}: prompt + completion is ${length} tokens; the model's context (max_position_embeddings) is ${model.config.maxPositionEmbeddings}`,
        );
      }
      for (const id of [...r.promptIds, ...r.completionIds]) {
        if (id >= model.config.vocabSize) {
          throw new UserError(
            `${opts.rollouts}:${i + 1}: token id ${id} ≥ vocab_size ${model.config.vocabSize}`,
          );
        }
      }
    }
  } else if (prompt !== undefined) {
    source = { kind: 'sample', prompts: [encodePrompt(model, prompt, opts.chatTemplate)] };
  } else if (opts.data) {
    const texts = await loadPrompts(opts.data, opts.field);
    source = {
      kind: 'sample',
      prompts: texts.map((t) => encodePrompt(model, t, opts.chatTemplate)),
    };
  } else {
    throw new UserError('give --prompt TEXT, --data FILE or --rollouts FILE');
  }
  const longest = Math.max(
    ...(source.kind === 'sample' ? source.prompts : source.rows.map((r) => r.promptIds)).map(
      (p) => p.length,
    ),
  );
  if (
    source.kind === 'sample' &&
    longest + opts.maxNewTokens > model.config.maxPositionEmbeddings
  ) {
    throw new UserError(
      `prompt (${longest} tokens) + --max-new-tokens ${opts.maxNewTokens} exceeds the model's context of ${model.config.maxPositionEmbeddings} (max_position_embeddings)`,
    );
  }

  const objParams: Record<string, unknown> = {};
  // an unknown objective, a missing or broken plugin, a bad parameter: input errors (exit 2)
  const resolveInput = (params?: Record<string, unknown>) =>
    resolveObjective(opts.objective, { cwd: process.cwd(), params }).catch((e: Error) => {
      throw new UserError(e.message);
    });
  const objective0 = await resolveInput();
  const shape = (objective0.objective.params as { shape?: Record<string, unknown> }).shape ?? {};
  if ('temperature' in shape) objParams.temperature = opts.lossTemperature;
  if ('mask' in shape) objParams.mask = opts.mask;
  const objective = await resolveInput(objParams);

  const backend = await createBackend(opts.backend, opts.device, model.config, opts.dtype);
  log(
    `backend ${backend.name} · model ${dir}${embedded ? ' (embedded stories260K)' : ''} · objective ${objective.objective.name} ${JSON.stringify(objective.params)}`,
  );

  // Held-out probe: greedy continuations of prompts the run never sees, fixed before training.
  const heldout = (embedded ? STORY_HELDOUT_PROMPTS : MATH_HELDOUT_PROMPTS).map((p) =>
    encodePrompt(model, p, opts.chatTemplate),
  );
  const base = uploadWeights(backend, model.config, model.weights);
  const probe = await rollout(backend, model.config, base, {
    prompts: heldout,
    sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: opts.repetitionPenalty },
    maxNewTokens: Math.min(48, opts.maxNewTokens),
    seed: opts.seed,
    eosIds: model.eosIds,
    padId: model.padId,
  });
  for (const t of base.values()) backend.dispose(t);
  const seqs = {
    prompts: heldout,
    completions: probe.completions.map((c) => (c.length ? c : [model.eosIds[0]])),
  };
  const before = await heldoutEntropy(backend, model, model.weights, seqs);
  log(`held-out mean token entropy (T=1) before: ${before.toFixed(4)} nats`);

  const progress = createProgress();
  let lastStep: StepMetrics | undefined;
  const resume = opts.resume ? loadCheckpointState(opts.resume, model.config) : undefined;
  // the last moment before the trainer writes into --out (a failed start leaves it as it was)
  hooks.beforeTrain?.();
  try {
    const { finalDir } = await train(
      backend,
      {
        config: model.config,
        weights: model.weights,
        dir: copyFrom,
        eosIds: model.eosIds,
        padId: model.padId,
        // the backend holds the weights from here on (the memory plan counts one copy); the
        // held-out probe after training reads the saved checkpoint
        releaseWeights: true,
      },
      objective,
      source,
      {
        steps: opts.steps,
        effectiveBatch: opts.effectiveBatch,
        microBatch: opts.microBatch,
        sampling: {
          temperature: opts.temperature,
          topP: opts.topP,
          topK: opts.topK,
          repetitionPenalty: opts.repetitionPenalty,
          minP: opts.minP,
        },
        maxNewTokens: opts.maxNewTokens,
        optimizer: {
          kind: opts.optimizer,
          lr: opts.lr,
          beta1: opts.beta1,
          beta2: opts.beta2,
          eps: opts.eps,
          weightDecay: opts.weightDecay,
        },
        optimizerOn: opts.optimizerOn,
        clip: opts.clip,
        seed: opts.seed,
        saveSteps: opts.saveSteps,
        saveTotalLimit: opts.saveTotalLimit,
        lrSchedule: {
          type: opts.lrSchedulerType,
          warmupSteps: resolveWarmupSteps(opts.steps, opts.warmupSteps, opts.warmupRatio),
          maxSteps: opts.steps,
        },
        out: opts.out,
        saveDtype: opts.saveDtype,
        maxShardSize: parseShardSize(opts.maxShardSize),
        resume,
      },
      {
        // the bar shows the phase, the step, and the last finished step's tokens/s and lengths
        phase: (phase, step) => progress.update(phase, step, opts.steps, lastStep),
        step: (m) => {
          lastStep = m;
          progress.line(stepLine(m, opts.steps));
        },
      },
    );
    progress.done();
    const { loadHfModel } = await import('@oneshot-em/core/node');
    const after = await heldoutEntropy(backend, model, loadHfModel(finalDir).weights, seqs);
    log(
      `held-out mean token entropy (T=1) after:  ${after.toFixed(4)} nats (${(after - before >= 0 ? '+' : '') + (after - before).toFixed(4)})`,
    );
    log(`saved ${finalDir} · metrics ${opts.out}/metrics.jsonl · plot ${opts.out}/run.svg`);
    return { before, after, finalDir };
  } finally {
    progress.done();
    await backend.destroy();
  }
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'one-shot entropy minimization: sample completions of a prompt, minimise their token entropy, save a Hugging Face checkpoint',
    )
    .addOption(
      new Option(
        '--config <file>',
        'run.json or run.yaml with any of these options as snake_case keys (flags override)',
      ),
    );
  addSchemaFlags(cmd, trainOptionsSchema, ['chatTemplate']);
  addRunDirFlags(cmd);
  cmd.addOption(
    new Option('--chat-template <mode>', 'apply the tokenizer chat template')
      .choices(['auto', 'on', 'off'])
      .default(undefined, '"auto": on when the tokenizer has one'),
  );
  cmd.addHelpText(
    'after',
    `
Without --model the embedded stories260K model trains on "${STORY_TRAIN_PROMPT}" with
--effective-batch ${EMBEDDED_DEFAULTS.effectiveBatch} --micro-batch ${EMBEDDED_DEFAULTS.microBatch} --max-new-tokens ${EMBEDDED_DEFAULTS.maxNewTokens} --lr ${EMBEDDED_DEFAULTS.lr} unless given.
A step is one optimizer update over --effective-batch completions (the reference script counts
micro-batches as steps; DeepSpeed updates only every effective_batch / micro_batch of them).

Examples:
  oneshot-em train
  oneshot-em train --model Qwen2.5-Math-7B --data pi1_r128.parquet --field problem --backend ort --device cuda
  oneshot-em train --objective high-entropy-tokens:q=0.2 --steps 10 --out runs/hetok
  oneshot-em train --rollouts vllm-samples.jsonl --effective-batch 64 --micro-batch 4`,
  );
  cmd.action(async (flags: Record<string, unknown>) => {
    const { config: file, overwrite, allowConfigChange, ...rest } = flags;
    // a run_config.yaml given back: its options, and the hashes of what it ran on to check
    const { options: fromFile, identity: fileIdentity } = splitConfigFile(
      typeof file === 'string' ? readConfigFile(file) : {},
    );
    // --resume: the run's recorded configuration is the base; the file and the flags override it
    const resumeDir = rest.resume ?? fromFile.resume;
    const recorded = typeof resumeDir === 'string' ? readRunConfig(dirname(resumeDir)) : undefined;
    const recordedBase = recorded?.options ?? {};
    const embedded =
      rest.model === undefined && fromFile.model === undefined && recordedBase.model === undefined;
    const base = embedded
      ? {
          ...Object.fromEntries(
            Object.entries(EMBEDDED_DEFAULTS).filter(
              ([k]) => !(k in rest) || rest[k] === undefined,
            ),
          ),
        }
      : {};
    let opts: TrainOptions;
    try {
      opts = parseTrainOptions(
        {
          ...Object.fromEntries(
            Object.entries(base).map(([k, v]) => [
              k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
              v,
            ]),
          ),
          ...recordedBase,
          ...fromFile,
        },
        rest,
        typeof file === 'string' ? file : 'flags',
      );
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    // the embedded demo's prompt is an option like any other: recorded, and given back by --config
    if (embedded && opts.prompt === undefined && !opts.data && !opts.rollouts)
      opts = { ...opts, prompt: STORY_TRAIN_PROMPT };
    if (opts.json && !opts.dryRun)
      throw new UserError('--json goes with --dry-run (a run writes its numbers to metrics.jsonl)');
    const log = (s: string) => process.stderr.write(`${s}\n`);
    const guard = opts.dryRun
      ? undefined
      : checkResume(opts, recorded, allowConfigChange === true, log);
    if (guard?.done) return;
    if (guard && fileIdentity && !opts.resume) {
      const changes = identityChanges(fileIdentity, guard.identity);
      if (changes.length && allowConfigChange !== true) {
        throw new UserError(
          `--config ${String(file)}: the model or data differ from those the recorded run used:\n  ${changes.join('\n  ')}\n(--allow-config-change runs anyway)`,
        );
      }
      if (changes.length)
        log(`running with other inputs (--allow-config-change): ${changes.join('; ')}`);
    }
    // the memory plan, before anything is loaded (train-plan.ts)
    const tp = await planTrain(opts, modelDir(opts.model).dir, embedded);
    if (opts.dryRun) {
      process.stdout.write(`${opts.json ? JSON.stringify(planJson(tp)) : planTable(tp)}\n`);
      if (!tp.fit.fits) process.exitCode = 2;
      return;
    }
    process.stderr.write(`${planSummary(tp)}\n`);
    if (!tp.fit.fits) throw new UserError(refusalMessage(tp));
    const unlock = lockOut(opts.out, `oneshot-em ${process.argv.slice(2).join(' ')}`, log);
    try {
      assertOutUsable(opts.out, {
        resume: opts.resume,
        overwrite: overwrite === true,
        command: 'train',
      });
      await runTrain(opts, log, embedded, {
        beforeTrain: () => {
          if (overwrite === true) clearRun(opts.out);
          writeRunConfig(opts.out, opts, guard?.identity ?? {});
        },
      });
    } catch (e) {
      throw nameRunFileError(e, opts.out);
    } finally {
      unlock();
    }
  });
}
