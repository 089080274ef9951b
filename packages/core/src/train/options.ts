import { z } from 'zod';
import { DEFAULT_MAX_SHARD_SIZE, parseShardSize } from '../io/shard-size.js';
import { COMPLETION_MASK_CONVENTIONS, maskConvention } from '../objectives/objective-batch.js';
import { parseByteSize } from './byte-size.js';
import { LR_SCHEDULER_TYPES } from './lr-schedule.js';
import { optionFields } from './option-fields.js';

function isByteSize(v: string): boolean {
  try {
    parseByteSize(v, 'size');
    return true;
  } catch {
    return false;
  }
}

/**
 * Every training knob, in one schema. The same concept has one name everywhere:
 * `effectiveBatch` (code) ↔ `--effective-batch` (CLI) ↔ `effective_batch` (config file, metrics).
 * Defaults reproduce the One-shot EM reference trainer (docs/architecture.md#training-semantics).
 */
export const trainOptionsSchema = z
  .object({
    model: z
      .string()
      .optional()
      .describe('Hugging Face model directory (default: embedded stories260K)'),
    prompt: z.string().optional().describe('the unlabeled prompt'),
    data: z.string().optional().describe('prompts from a .jsonl or .parquet file'),
    field: z.string().default('problem').describe('the prompt column/key in --data'),
    rollouts: z
      .string()
      .optional()
      .describe('train on given completions (JSONL) instead of sampling'),
    chatTemplate: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe('apply the tokenizer chat template'),
    backend: z
      .enum(['ort', 'dawn', 'reference'])
      .default('ort')
      .describe('executor: ONNX Runtime, WebGPU (Dawn) or the CPU reference'),
    device: z.string().optional().describe('ort: cpu|cuda[:N]; dawn: adapter index or name'),
    objective: z
      .string()
      .default('token-entropy')
      .describe(
        'NAME[:key=value,…]: a built-in, an npm or workspace package, a package directory or a .ts/.js file',
      ),
    steps: z.number().int().positive().default(10).describe('optimizer updates'),
    lr: z.number().positive().default(2e-5).describe('learning rate (the peak, with a schedule)'),
    lrSchedulerType: z
      .enum(LR_SCHEDULER_TYPES)
      .default('constant')
      .describe(
        "as transformers' get_scheduler: constant (the paper's), constant_with_warmup, linear (to 0 at --steps), cosine (half a cosine to 0 at --steps)",
      ),
    warmupSteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('updates with the rate rising linearly from 0 (wins over --warmup-ratio when > 0)'),
    warmupRatio: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('warmup as a fraction of --steps: ceil(steps · ratio) updates'),
    effectiveBatch: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe('completions per optimizer step'),
    microBatch: z.number().int().positive().default(4).describe('completions per forward/backward'),
    temperature: optionFields
      .temperature()
      .default(0.5)
      .describe('sampling temperature (0 = greedy)'),
    lossTemperature: optionFields
      .positiveTemperature()
      .default(0.5)
      .describe('temperature of the entropy objective'),
    topP: optionFields.topP().default(0.95).describe('nucleus sampling (1 disables)'),
    topK: optionFields.topK().default(0).describe('0 disables'),
    repetitionPenalty: optionFields
      .repetitionPenalty()
      .default(1.15)
      .describe('CTRL-style penalty over prompt and generated tokens (1 disables)'),
    // no default: a run without it records no min_p, so runs from before it resume unchanged
    minP: optionFields
      .minP()
      .optional()
      .describe('min-p sampling: drop tokens below min_p × the top probability (default: off)'),
    maxNewTokens: optionFields
      .maxNewTokens()
      .default(512)
      .describe('completion length limit (stops earlier at EOS)'),
    mask: z
      .preprocess(maskConvention, z.enum(COMPLETION_MASK_CONVENTIONS))
      .default('paper')
      .describe(
        "which logits the loss covers: paper (the One-shot EM trainer's: positions ≥ the prompt length) or shifted (those that predicted each completion token); 'reference' is paper's deprecated name",
      ),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw').describe('torch.optim semantics'),
    optimizerOn: z
      .enum(['host', 'device'])
      .optional()
      .describe(
        'where the f32 master weights and optimizer state live (default: host on ort, where it is inherent; device on dawn and reference). host (ZeRO-offload): the device keeps only the compute weights, gradients and one micro-batch; per step the gradients go down and the weights up once',
      ),
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW β1'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('AdamW β2'),
    eps: z.number().positive().default(1e-8).describe('AdamW ε'),
    weightDecay: z.number().min(0).default(0.01).describe('decoupled weight decay'),
    clip: z.number().min(0).default(1.0).describe('global L2 grad-norm clip; 0 disables'),
    seed: optionFields
      .seed()
      .default(42)
      .describe('fixes the rollouts and the update on a backend and device'),
    saveSteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('save every N steps (0: only the final)'),
    saveTotalLimit: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'keep only the N most recent step_<N> checkpoints (older ones deleted once a new one is complete; final/ is always kept; default: keep all)',
      ),
    out: z
      .string()
      .default('runs/oneshot-em')
      .describe('run directory: step_<N>/, final/, metrics.jsonl, run.svg'),
    resume: z
      .string()
      .optional()
      .describe('a step_<N> checkpoint directory of this run to continue'),
    dtype: z
      .enum(['auto', 'f32', 'bf16', 'f16'])
      .default('auto')
      .describe(
        'dtype of the compute copy of the weights on the device (auto: bf16 on a Dawn GPU for a bf16 base model, f16 on ORT CUDA for an f16 base, else f32); master weights and optimizer state stay f32; Dawn f16 needs shader-f16; ORT has f16, not bf16',
      ),
    saveDtype: z
      .enum(['auto', 'f32', 'bf16', 'f16'])
      .default('auto')
      .describe(
        "storage dtype of saved weights and config.json torch_dtype (auto: the base model's); --resume keeps f32 master weights",
      ),
    maxShardSize: z
      .union([z.string(), z.number()])
      .default(DEFAULT_MAX_SHARD_SIZE)
      .superRefine((v, ctx) => {
        try {
          parseShardSize(v);
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: `expected a size such as 500MB, 5GB, 2GiB, 100KB (KB/MB/GB = 10³/10⁶/10⁹ bytes, KiB/MiB/GiB = 2¹⁰/2²⁰/2³⁰) or a byte count, got ${JSON.stringify(v)}`,
          });
        }
      })
      .describe(
        'split saved weights and optimizer state into safetensors shards of at most this size (500MB, 5GB, 2GiB, bytes)',
      ),
    // the memory plan (train/memory-plan.ts), checked before anything is loaded
    dryRun: z
      .boolean()
      .default(false)
      .describe(
        'print the memory plan (host and device bytes, item by item) and exit without loading the weights; exit code 2 when it does not fit',
      ),
    json: z.boolean().default(false).describe('with --dry-run: the plan as one JSON object'),
    deviceMemory: z.coerce
      .string()
      .optional()
      .refine((v) => v === undefined || isByteSize(v), {
        message: 'expected a size such as 80GB, 141GiB or 512MiB',
      })
      .describe(
        "device memory to plan against, e.g. 80GB or 141GiB (dawn: WebGPU does not report it; ort cuda: default nvidia-smi's total)",
      ),
  })
  .strict();

export type TrainOptions = z.infer<typeof trainOptionsSchema>;

/** camelCase → snake_case, the spelling of config-file keys and metrics. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** camelCase → --kebab-case, the spelling of flags. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function camelCase(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parse a config-file object (snake_case keys) merged under explicit flags (camelCase).
 * Errors name the source and the key: `run.yaml: effective_batch: expected a positive integer`.
 */
export function parseTrainOptions(
  fromFile: Record<string, unknown>,
  fromFlags: Record<string, unknown>,
  source = 'config',
): TrainOptions {
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fromFile)) {
    if (k.includes('-') || /[A-Z]/.test(k)) {
      throw new Error(
        `${source}: ${k}: config keys are snake_case (e.g. ${snakeCase(camelCase(k))})`,
      );
    }
    merged[camelCase(k)] = v;
  }
  for (const [k, v] of Object.entries(fromFlags)) if (v !== undefined) merged[k] = v;
  const r = trainOptionsSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const key = i.path.length ? String(i.path[0]) : '';
      if (i.code === 'unrecognized_keys') {
        return `${source}: unknown key(s) ${i.keys.map(snakeCase).join(', ')}`;
      }
      // a value given as a flag is named as the flag, one from the file as file: key
      if (key && fromFlags[key] !== undefined) return `--${kebabCase(key)}: ${i.message}`;
      return `${source}: ${key ? snakeCase(key) : '(root)'}: ${i.message}`;
    });
    throw new Error(lines.join('\n'));
  }
  const o = r.data;
  if (o.effectiveBatch % o.microBatch !== 0) {
    throw new Error(
      `${source}: effective_batch (${o.effectiveBatch}) must be a multiple of micro_batch (${o.microBatch})`,
    );
  }
  if (o.lrSchedulerType === 'constant' && (o.warmupSteps > 0 || o.warmupRatio > 0)) {
    // transformers' constant schedule silently drops the warmup; say so instead
    throw new Error(
      `${source}: lr_scheduler_type constant has no warmup (warmup_steps ${o.warmupSteps}, warmup_ratio ${o.warmupRatio}); use constant_with_warmup, linear or cosine, or drop the warmup`,
    );
  }
  if (o.prompt !== undefined && o.data !== undefined) {
    throw new Error(`${source}: give either prompt or data, not both`);
  }
  return o;
}
