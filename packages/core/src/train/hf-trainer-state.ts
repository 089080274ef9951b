/**
 * Hugging Face Trainer's `trainer_state.json` (its TrainerState), as a checkpoint carries it for
 * tools that know transformers; our resume state is oneshot_em_state.json (checkpoint.ts).
 */

/** One `log_history` entry: a metrics.jsonl line's flat numbers, with `epoch` and `step`. */
export type LogEntry = Record<string, number | null>;

/** HF Trainer's TrainerState as `trainer_state.json` holds it (transformers ≥ 4.52 keys). */
export interface HfTrainerState {
  best_global_step: null;
  best_metric: null;
  best_model_checkpoint: null;
  epoch: number;
  eval_steps: number;
  global_step: number;
  is_hyper_param_search: false;
  is_local_process_zero: true;
  is_world_process_zero: true;
  log_history: LogEntry[];
  logging_steps: number;
  max_steps: number;
  num_input_tokens_seen: number;
  num_train_epochs: number;
  save_steps: number;
  stateful_callbacks: {
    TrainerControl: { args: Record<string, boolean>; attributes: Record<string, never> };
  };
  total_flos: number;
  train_batch_size: number;
  trial_name: null;
  trial_params: null;
}

export interface HfTrainerStateInput {
  globalStep: number;
  maxSteps: number;
  /** 0: only final/ */
  saveSteps: number;
  /** per forward/backward (HF's per-device batch size), i.e. micro_batch */
  trainBatchSize: number;
  /** completions per step and rows of data (prompts or given rollouts): epochs = passes */
  effectiveBatch: number;
  dataRows: number;
  logHistory: LogEntry[];
  numInputTokensSeen: number;
  totalFlos: number;
}

/**
 * trainer_state.json as HF Trainer writes it (keys sorted, as its save_to_json does). One step
 * logs once (logging_steps 1); nothing is evaluated, so the best_* fields are null and eval_steps
 * is TrainerState's default, 500 (TrainingArguments leaves eval_steps None unless it evaluates
 * by steps, and compute_steps then keeps the default); an epoch is one pass over the data rows
 * (each completion draws one row).
 */
export function hfTrainerState(p: HfTrainerStateInput): HfTrainerState {
  const perEpoch = p.dataRows / p.effectiveBatch;
  return {
    best_global_step: null,
    best_metric: null,
    best_model_checkpoint: null,
    epoch: p.globalStep / perEpoch,
    eval_steps: 500,
    global_step: p.globalStep,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: p.logHistory,
    logging_steps: 1,
    max_steps: p.maxSteps,
    num_input_tokens_seen: p.numInputTokensSeen,
    num_train_epochs: Math.ceil(p.maxSteps / perEpoch),
    save_steps: p.saveSteps,
    stateful_callbacks: {
      TrainerControl: {
        args: {
          should_epoch_stop: false,
          should_evaluate: false,
          should_log: false,
          should_save: true,
          should_training_stop: p.globalStep >= p.maxSteps,
        },
        attributes: {},
      },
    },
    total_flos: p.totalFlos,
    train_batch_size: p.trainBatchSize,
    trial_name: null,
    trial_params: null,
  };
}

/**
 * The entry HF Trainer appends to log_history when train() ends (so only the final state has
 * it): runtime in seconds, rounded as its speed_metrics rounds; train_loss the mean step loss.
 * The rates count the steps this process ran (HF counts max_steps, which differs on resume).
 */
export function trainSummaryEntry(p: {
  runtimeS: number;
  stepsRun: number;
  effectiveBatch: number;
  totalFlos: number;
  losses: readonly number[];
  epoch: number;
  step: number;
}): LogEntry {
  const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  const rates = p.runtimeS > 0 && {
    train_samples_per_second: round((p.stepsRun * p.effectiveBatch) / p.runtimeS, 3),
    train_steps_per_second: round(p.stepsRun / p.runtimeS, 3),
  };
  return {
    train_runtime: round(p.runtimeS, 4),
    ...rates,
    total_flos: p.totalFlos,
    train_loss: p.losses.reduce((a, b) => a + b, 0) / Math.max(p.losses.length, 1),
    epoch: p.epoch,
    step: p.step,
  };
}

/** Keys sorted at every level, as HF's TrainerState.save_to_json (json.dumps sort_keys) writes. */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
  );
}
