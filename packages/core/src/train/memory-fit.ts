/**
 * Whether a memory plan fits the machine, and the knobs that would make it fit, each one
 * computed with planMemory (memory-plan.ts).
 */
import { formatBytes } from './byte-size.js';
import {
  type MemoryPlan,
  type MemoryPlanInput,
  type PlanBackend,
  planMemory,
} from './memory-plan.js';

/** What the run may use. null: unknown (that side is not checked, and the plan says so). */
export interface MemoryLimits {
  host_available_bytes: number | null;
  device_total_bytes: number | null;
  /** where the device number came from: "--device-memory", "nvidia-smi", "host memory", "unknown" */
  device_source: string;
}

export interface PlanFit {
  fits: boolean;
  host_fits: boolean | null;
  /** null: the device total is unknown, or the device is host memory */
  device_fits: boolean | null;
}

export function planFits(plan: MemoryPlan, limits: MemoryLimits): PlanFit {
  const check = (need: number, have: number | null) => (have === null ? null : need <= have);
  const host_fits = check(plan.host_bytes, limits.host_available_bytes);
  const device_fits = plan.unified ? null : check(plan.device_bytes, limits.device_total_bytes);
  return {
    fits: plan.absurd === undefined && host_fits !== false && device_fits !== false,
    host_fits,
    device_fits,
  };
}

/** A change of one knob (or two) that makes the plan fit, with the plan it gives. */
export interface PlanSuggestion {
  knob: string;
  from: string | number;
  to: string | number;
  host_bytes: number;
  device_bytes: number;
  /** e.g. "micro_batch 4 → 1 fits (device 31.2 GiB)" */
  text: string;
}

export interface SuggestOptions {
  /** the knobs this run can change (a --dtype flag, Dawn's optimizer on the host) */
  dtype?: boolean;
  optimizerOnHost?: boolean;
  /** other backends the run could use on this machine (e.g. ort-cuda instead of dawn) */
  backends?: PlanBackend[];
}

/** Candidate micro-batches below `current` that divide the effective batch, largest first. */
function smallerMicroBatches(current: number, effectiveBatch: number): number[] {
  const out = new Set<number>();
  for (let c = Math.floor(current / 2); c >= 1; c = Math.floor(c / 2)) {
    // the largest divisor ≤ c, looking a little way down (effective batches are round numbers)
    for (let d = c; d >= Math.max(1, c - 64); d--) {
      if (effectiveBatch % d === 0) {
        out.add(d);
        break;
      }
    }
  }
  out.add(1);
  return [...out].filter((m) => m < current).sort((a, b) => b - a);
}

/**
 * The knobs that would make a plan fit, each computed: the largest micro-batch that divides
 * the effective batch, the largest power of two below max_new_tokens that fits, a 16-bit compute dtype, the
 * optimizer on the host; then micro-batch 1 with the largest fitting max_new_tokens. Empty when
 * nothing fits (the persistent state alone is too big) or when the plan fits already.
 */
export function suggestFits(
  input: MemoryPlanInput,
  limits: MemoryLimits,
  options: SuggestOptions = {},
): PlanSuggestion[] {
  if (planFits(planMemory(input), limits).fits) return [];
  const out: PlanSuggestion[] = [];
  const sides = (p: MemoryPlan) =>
    p.unified
      ? `host ${formatBytes(p.host_bytes)}`
      : `device ${formatBytes(p.device_bytes)}, host ${formatBytes(p.host_bytes)}`;
  const attempt = (
    knob: string,
    from: string | number,
    to: string | number,
    over: Partial<MemoryPlanInput>,
  ) => {
    const p = planMemory({ ...input, ...over });
    if (!planFits(p, limits).fits) return false;
    out.push({
      knob,
      from,
      to,
      host_bytes: p.host_bytes,
      device_bytes: p.device_bytes,
      text: `${knob} ${from} → ${to} fits (${sides(p)})`,
    });
    return true;
  };
  for (const m of smallerMicroBatches(input.microBatch, input.effectiveBatch)) {
    if (attempt('micro_batch', input.microBatch, m, { microBatch: m })) break;
  }
  const G = input.maxNewTokens;
  // round numbers: the largest power of two below G, then halvings
  const firstG = 2 ** Math.floor(Math.log2(Math.max(1, G - 1)));
  if (input.sampling ?? true) {
    for (let g = firstG; g >= 1 && g < G; g = Math.floor(g / 2)) {
      if (attempt('max_new_tokens', G, g, { maxNewTokens: g })) break;
    }
  }
  if (options.dtype && (input.dtype ?? 'f32') === 'f32')
    attempt('dtype', 'f32', 'bf16', { dtype: 'bf16' });
  if (
    options.optimizerOnHost &&
    (input.optimizerOn ?? 'device') === 'device' &&
    input.backend === 'dawn'
  ) {
    attempt('optimizer_on', 'device', 'host', { optimizerOn: 'host' });
  }
  for (const b of options.backends ?? []) {
    if (b !== input.backend)
      attempt('backend', input.backend, b, { backend: b, optimizerOn: undefined });
  }
  // a change of method, so only when nothing else fits
  if (out.length === 0 && input.optimizer === 'adamw') {
    attempt('optimizer', 'adamw', 'sgd', { optimizer: 'sgd' });
  }
  if (out.length === 0 && input.microBatch > 1 && (input.sampling ?? true)) {
    for (let g = firstG; g >= 1 && g < G; g = Math.floor(g / 2)) {
      const p = planMemory({ ...input, microBatch: 1, maxNewTokens: g });
      if (!planFits(p, limits).fits) continue;
      out.push({
        knob: 'micro_batch+max_new_tokens',
        from: `${input.microBatch}, ${G}`,
        to: `1, ${g}`,
        host_bytes: p.host_bytes,
        device_bytes: p.device_bytes,
        text: `micro_batch ${input.microBatch} → 1 and max_new_tokens ${G} → ${g} fit (${sides(p)})`,
      });
      break;
    }
  }
  return out;
}
