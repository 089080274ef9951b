/**
 * `train`'s memory plan (core's planMemory): computed from config.json and the flags before
 * anything is loaded, printed by --dry-run (table or --json) and in every run's header, and a
 * refusal (exit 2) with the knobs that would fit when it does not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import {
  formatBytes,
  type MemoryLimits,
  type MemoryPlan,
  type MemoryPlanInput,
  type ModelConfig,
  type PlanBackend,
  type PlanDtype,
  type PlanFit,
  type PlanSuggestion,
  parseByteSize,
  planFits,
  planMemory,
  suggestFits,
  type TrainOptions,
  trainOptionsSchema,
} from '@oneshot-em/core';
import {
  encodePrompt,
  type LoadedModel,
  loadPrompts,
  loadRollouts,
  loadTokenizer,
  readModelConfig,
  trainerOffloads,
} from '@oneshot-em/core/node';
import { UserError } from '../errors.js';
import { STORY_TRAIN_PROMPT } from '../model-source.js';

export interface TrainPlan {
  input: MemoryPlanInput;
  plan: MemoryPlan;
  limits: MemoryLimits;
  fit: PlanFit;
  suggestions: PlanSuggestion[];
  /** how the prompt length was found: the tokenizer, the rollouts file, or UTF-8 bytes */
  promptTokensFrom: string;
  device: string;
}

export function planBackend(opts: Pick<TrainOptions, 'backend' | 'device'>): PlanBackend {
  if (opts.backend === 'ort') return opts.device?.startsWith('cuda') ? 'ort-cuda' : 'ort-cpu';
  return opts.backend;
}

/** MemAvailable (what the kernel can give without swapping), capped by a cgroup v2 limit. */
export function hostAvailableBytes(): number {
  let available = freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem() it is
  }
  try {
    const max = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    const current = Number(readFileSync('/sys/fs/cgroup/memory.current', 'utf8').trim());
    if (max !== 'max' && Number.isFinite(current))
      available = Math.min(available, Number(max) - current);
  } catch {
    // no cgroup v2 limit
  }
  return available;
}

/** Total memory of CUDA device `index` from nvidia-smi, or null when it cannot tell. */
function nvidiaSmiTotal(index: number): number | null {
  try {
    const out = execFileSync(
      'nvidia-smi',
      ['--query-gpu=memory.total', '--format=csv,noheader,nounits'],
      { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const mib = Number(out.trim().split('\n')[index]?.trim());
    return mib > 0 ? mib * 2 ** 20 : null;
  } catch {
    return null;
  }
}

function deviceLimit(opts: TrainOptions, backend: PlanBackend): MemoryLimits {
  const host = hostAvailableBytes();
  if (backend === 'ort-cpu' || backend === 'reference')
    return { host_available_bytes: host, device_total_bytes: null, device_source: 'host memory' };
  if (opts.deviceMemory !== undefined) {
    const bytes = parseByteSize(opts.deviceMemory, '--device-memory');
    return {
      host_available_bytes: host,
      device_total_bytes: bytes,
      device_source: '--device-memory',
    };
  }
  if (backend === 'ort-cuda') {
    const index = Number(/^cuda:(\d+)$/.exec(opts.device ?? '')?.[1] ?? 0);
    const total = nvidiaSmiTotal(index);
    if (total !== null)
      return { host_available_bytes: host, device_total_bytes: total, device_source: 'nvidia-smi' };
  }
  return {
    host_available_bytes: host,
    device_total_bytes: null,
    device_source:
      backend === 'dawn'
        ? 'unknown (WebGPU does not report it: give --device-memory)'
        : 'unknown (no nvidia-smi: give --device-memory)',
  };
}

/** Prompt and completion lengths in tokens, through the tokenizer when the model has one. */
async function lengths(
  opts: TrainOptions,
  config: ModelConfig,
  dir: string,
  embedded: boolean,
): Promise<{ prompt: number; completion: number; sampling: boolean; from: string }> {
  let tokenizer: ReturnType<typeof loadTokenizer> | undefined;
  try {
    tokenizer = loadTokenizer(dir);
  } catch {
    tokenizer = undefined;
  }
  // encodePrompt reads only the tokenizer and the context length
  const model = tokenizer
    ? ({ dir, config, tokenizer, weights: new Map(), eosIds: [], padId: 0 } as LoadedModel)
    : undefined;
  const encode = (text: string) =>
    model
      ? encodePrompt(model, text, opts.chatTemplate).length
      : // byte-level BPE never needs more tokens than UTF-8 bytes; a template adds a few
        Buffer.byteLength(text) + 64;
  const from = model ? 'the tokenizer' : 'UTF-8 bytes + 64 (no tokenizer)';
  if (opts.rollouts) {
    const rows = await loadRollouts(opts.rollouts);
    let prompt = 1;
    let completion = 1;
    for (const r of rows) {
      const p = r.kind === 'ids' ? r.promptIds.length : encode(r.prompt);
      const c =
        r.kind === 'ids'
          ? r.completionIds.length
          : model
            ? model.tokenizer.encode(r.completion, { addSpecialTokens: false }).length
            : Buffer.byteLength(r.completion);
      prompt = Math.max(prompt, p);
      completion = Math.max(completion, c);
    }
    return { prompt, completion, sampling: false, from: 'the rollouts file' };
  }
  const prompt = opts.prompt ?? (opts.data ? undefined : embedded ? STORY_TRAIN_PROMPT : undefined);
  let texts: string[];
  if (prompt !== undefined) texts = [prompt];
  else if (opts.data) {
    // the longest prompts in characters hold the longest in tokens; tokenize only those
    texts = (await loadPrompts(opts.data, opts.field)).sort((a, b) => b.length - a.length);
    texts = texts.slice(0, 16);
  } else throw new UserError('give --prompt TEXT, --data FILE or --rollouts FILE');
  return {
    prompt: Math.max(...texts.map(encode)),
    completion: opts.maxNewTokens,
    sampling: true,
    from,
  };
}

/**
 * The compute dtype of the run: --dtype where the schema has it (issue 13; `auto` = bf16 on a
 * GPU for a bf16 base model, else f32), f32 before.
 */
function computeDtype(opts: TrainOptions, backend: PlanBackend, config: ModelConfig): PlanDtype {
  const d = (opts as { dtype?: unknown }).dtype;
  if (d === 'f32' || d === 'bf16' || d === 'f16') return d;
  if (d !== 'auto') return 'f32';
  if (backend === 'dawn') return config.torchDtype === 'bfloat16' ? 'bf16' : 'f32';
  // ORT (backend-ort resolveWeightDtype): f16 on CUDA for an f16 base; it has no bf16 tensors
  return backend === 'ort-cuda' && config.torchDtype === 'float16' ? 'f16' : 'f32';
}

/** The plan of this run, from config.json (the resumed checkpoint's when resuming) and the flags. */
export async function planTrain(
  opts: TrainOptions,
  dir: string,
  embedded: boolean,
): Promise<TrainPlan> {
  const configDir = opts.resume ?? dir;
  if (!existsSync(configDir)) throw new UserError(`${configDir}: model directory not found`);
  let config: ModelConfig;
  try {
    config = readModelConfig(configDir);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  let len: Awaited<ReturnType<typeof lengths>>;
  try {
    len = await lengths(opts, config, configDir, embedded);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
  // the same check as the run's (train.ts), before the plan: a context overflow is the cause
  if (len.sampling && len.prompt + opts.maxNewTokens > config.maxPositionEmbeddings) {
    throw new UserError(
      `prompt (${len.prompt} tokens) + --max-new-tokens ${opts.maxNewTokens} exceeds the model's context of ${config.maxPositionEmbeddings} (max_position_embeddings)`,
    );
  }
  const backend = planBackend(opts);
  // ORT's optimizer runs on the host whatever is asked: refuse 'device' before anything loads
  if (backend === 'ort-cpu' || backend === 'ort-cuda') {
    try {
      trainerOffloads('ort', opts.optimizerOn ?? 'host');
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  const input: MemoryPlanInput = {
    config,
    backend,
    dtype: computeDtype(opts, backend, config),
    microBatch: opts.microBatch,
    effectiveBatch: opts.effectiveBatch,
    promptTokens: len.prompt,
    maxNewTokens: len.completion,
    sampling: len.sampling,
    optimizer: opts.optimizer,
    optimizerOn: opts.optimizerOn,
  };
  const plan = planMemory(input);
  const limits = deviceLimit(opts, backend);
  // only knobs this CLI has (--dtype on Dawn; --optimizer-on host on Dawn, where it runs on the
  // GPU by default); on NVIDIA, ORT's CUDA EP keeps the optimizer on the host
  const suggestions = suggestFits(input, limits, {
    optimizerOnHost: backend === 'dawn',
    // only Dawn runs a 16-bit compute copy (ORT and the reference refuse one)
    dtype: 'dtype' in trainOptionsSchema.shape && backend === 'dawn',
    backends: backend === 'dawn' && limits.device_total_bytes !== null ? ['ort-cuda'] : [],
  });
  return {
    input,
    plan,
    limits,
    fit: planFits(plan, limits),
    suggestions,
    promptTokensFrom: len.from,
    device:
      opts.device ??
      (backend === 'ort-cpu' ? 'cpu' : backend === 'ort-cuda' ? 'cuda:0' : 'default'),
  };
}

const FLAG: Record<string, string> = {
  micro_batch: '--micro-batch',
  max_new_tokens: '--max-new-tokens',
  dtype: '--dtype',
  optimizer: '--optimizer',
  optimizer_on: '--optimizer-on',
};
const BACKEND_FLAGS: Record<string, string> = {
  'ort-cuda': '--backend ort --device cuda',
  'ort-cpu': '--backend ort --device cpu',
  dawn: '--backend dawn',
  reference: '--backend reference',
};

function sideText(tp: TrainPlan): string {
  const { plan, limits } = tp;
  const host = `host ${formatBytes(plan.host_bytes)} of ${limits.host_available_bytes === null ? 'unknown' : formatBytes(limits.host_available_bytes)} available`;
  if (plan.unified) return `${host} (the device is host memory)`;
  const total =
    limits.device_total_bytes === null
      ? limits.device_source
      : `${formatBytes(limits.device_total_bytes)} (${limits.device_source})`;
  return `${host} · device ${formatBytes(plan.device_bytes)} of ${total}`;
}

/** One line for a run's header. */
export function planSummary(tp: TrainPlan): string {
  const { plan, input } = tp;
  return `memory plan: ${sideText(tp)} · ${plan.params.toLocaleString('en-US')} params · micro_batch ${input.microBatch} × ${plan.context_tokens} tokens · ${tp.fit.fits ? 'fits' : 'does not fit'}`;
}

function suggestionLines(tp: TrainPlan): string[] {
  const absurd = tp.plan.absurd ? [`  ${tp.plan.absurd}`] : [];
  if (tp.suggestions.length === 0) {
    if (absurd.length) return absurd;
    // the side that does not fit, without its per-micro-batch items
    const side = tp.fit.device_fits === false ? 'device_bytes' : 'host_bytes';
    const persistent = tp.plan.items
      .filter((i) => i.phase === 'persistent')
      .reduce((s, i) => s + i[side], 0);
    return [
      `  no micro-batch or context fits: what stays for the whole run (weights, gradients, optimizer state) needs ${formatBytes(persistent)} of ${side === 'device_bytes' ? 'device' : 'host'} memory (a smaller model or more memory)`,
    ];
  }
  return absurd.concat(
    tp.suggestions.map((s) => {
      const flag =
        s.knob === 'backend'
          ? BACKEND_FLAGS[String(s.to)]
          : FLAG[s.knob] && `${FLAG[s.knob]} ${s.to}`;
      return `  ${s.text}${flag ? ` [${flag}]` : ''}`;
    }),
  );
}

/** The refusal: the estimate, the limit it exceeds and the knobs that would fit. */
export function refusalMessage(tp: TrainPlan): string {
  return [
    `the memory plan does not fit: ${sideText(tp)}`,
    tp.suggestions.length ? 'what would fit (one knob at a time):' : 'nothing fits:',
    ...suggestionLines(tp),
    '(oneshot-em train --dry-run prints the whole plan)',
  ].join('\n');
}

/** The --dry-run table: item, phase, host, device. */
export function planTable(tp: TrainPlan): string {
  const { plan, input } = tp;
  const dash = (n: number) => (n === 0 ? '—' : formatBytes(n));
  const rows = plan.items.map((i) => [i.name, i.phase, dash(i.host_bytes), dash(i.device_bytes)]);
  const head = ['item', 'phase', 'host', plan.unified ? 'device (= host)' : 'device'];
  const foot = [
    'peak (persistent + largest phase)',
    '',
    dash(plan.host_bytes),
    dash(plan.device_bytes),
  ];
  const width = [0, 1, 2, 3].map((k) => Math.max(...[head, ...rows, foot].map((r) => r[k].length)));
  const fmt = (r: string[]) =>
    `  ${r[0].padEnd(width[0])}  ${r[1].padEnd(width[1])}  ${r[2].padStart(width[2])}  ${r[3].padStart(width[3])}`;
  const fit = tp.fit.fits ? 'fits' : 'does not fit';
  return [
    `memory plan · ${input.config.modelType} ${plan.params.toLocaleString('en-US')} params · ${plan.backend} (${tp.device}) · ${plan.dtype} · micro_batch ${input.microBatch} of effective_batch ${input.effectiveBatch} · ${plan.context_tokens} tokens (prompt ${input.promptTokens}${input.sampling === false ? ` + completion ${input.maxNewTokens}, given` : ` + max_new_tokens ${input.maxNewTokens}`}; prompt length from ${tp.promptTokensFrom}) · ${input.optimizer} on the ${plan.optimizer_on}`,
    fmt(head),
    ...rows.map(fmt),
    fmt(foot),
    `${fit}: ${sideText(tp)}`,
    ...(tp.fit.fits ? [] : suggestionLines(tp)),
  ].join('\n');
}

/** The --dry-run --json object (snake_case throughout). */
export function planJson(tp: TrainPlan): Record<string, unknown> {
  const { plan, input } = tp;
  return {
    host_bytes: plan.host_bytes,
    device_bytes: plan.device_bytes,
    unified: plan.unified,
    params: plan.params,
    fits: tp.fit.fits,
    host_fits: tp.fit.host_fits,
    device_fits: tp.fit.device_fits,
    limits: tp.limits,
    knobs: {
      backend: plan.backend,
      device: tp.device,
      dtype: plan.dtype,
      micro_batch: input.microBatch,
      effective_batch: input.effectiveBatch,
      prompt_tokens: input.promptTokens,
      prompt_tokens_from: tp.promptTokensFrom,
      max_new_tokens: input.maxNewTokens,
      context_tokens: plan.context_tokens,
      sampling: input.sampling !== false,
      optimizer: input.optimizer,
      optimizer_on: plan.optimizer_on,
    },
    items: plan.items,
    suggestions: tp.suggestions,
    ...(plan.absurd ? { absurd: plan.absurd } : {}),
  };
}
