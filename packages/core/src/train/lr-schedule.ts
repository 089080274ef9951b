/**
 * Learning-rate schedules with the semantics of transformers' `get_scheduler` (a LambdaLR
 * multiplier of the base rate, evaluated at the number of optimizer updates already done), so
 * a `lr_scheduler_type` / `warmup_steps` / `warmup_ratio` taken from an HF TrainingArguments
 * config gives the same rate at every step here.
 */

export const LR_SCHEDULER_TYPES = ['constant', 'constant_with_warmup', 'linear', 'cosine'] as const;
export type LrSchedulerType = (typeof LR_SCHEDULER_TYPES)[number];

export interface LrSchedule {
  type: LrSchedulerType;
  /** updates with the rate rising linearly from 0 (resolved: warmupSteps wins over a ratio) */
  warmupSteps: number;
  /** the run's optimizer updates (`--steps`): linear and cosine reach 0 there */
  maxSteps: number;
}

/**
 * Warmup updates as HF TrainingArguments.get_warmup_steps counts them: `warmup_steps` when it is
 * > 0, else ceil(max_steps · warmup_ratio).
 */
export function resolveWarmupSteps(
  maxSteps: number,
  warmupSteps: number | undefined,
  warmupRatio: number | undefined,
): number {
  if (warmupSteps !== undefined && warmupSteps > 0) return warmupSteps;
  return Math.ceil(maxSteps * (warmupRatio ?? 0));
}

/**
 * The multiplier of the base rate after `done` updates (the rate the update numbered done + 1
 * uses): warmup done / warmup; then constant 1, linear (max − done) / (max − warmup) clamped at
 * 0, or cosine ½(1 + cos(π · progress)) with progress = (done − warmup) / (max − warmup).
 * `constant` ignores warmup, as get_scheduler does.
 */
export function lrMultiplier(s: LrSchedule, done: number): number {
  const { type, warmupSteps: w, maxSteps: max } = s;
  if (type === 'constant') return 1;
  if (done < w) return done / Math.max(1, w);
  if (type === 'constant_with_warmup') return 1;
  if (type === 'linear') return Math.max(0, (max - done) / Math.max(1, max - w));
  const progress = (done - w) / Math.max(1, max - w);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The rate of optimizer update `step` (1-based): base · multiplier after step − 1 updates. */
export function scheduledLr(baseLr: number, s: LrSchedule, step: number): number {
  return baseLr * lrMultiplier(s, step - 1);
}
