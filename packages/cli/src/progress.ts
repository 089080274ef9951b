import type { StepMetrics } from '@oneshot-em/core';
import { isTerminal } from './stderr-filter.js';

/**
 * Progress: a single redrawn line on a TTY (phase, step, the last finished step's tokens/s,
 * mean completion length and clipped ratio, ETA), cleared at the end; plain lines otherwise
 * (CI logs, pipes). Never writes to stdout, which belongs to results (`--json`).
 */
export interface Progress {
  /** `step` (1-based) is in progress; `last` is the last finished step's metrics. */
  update(phase: string, step: number, total: number, last?: StepMetrics): void;
  line(text: string): void;
  done(): void;
}

const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(0)}%` : '?');
const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '?');

/** The completion part of a line: TRL's mean length and the share cut off without EOS. */
export function completionSummary(m: StepMetrics): string {
  return `len ${fixed(m['completions/mean_length'], 1)} clipped ${pct(m['completions/clipped_ratio'])}`;
}

/**
 * The log line of one finished step (`train` prints it to stderr); num_tokens is TRL's running
 * count of prompt + completion tokens.
 */
export function stepLine(m: StepMetrics, total: number): string {
  const lr = Number.isFinite(m.learning_rate) ? m.learning_rate.toExponential(2) : '?';
  return `step ${m.step}/${total} loss ${fixed(m.loss, 4)} entropy ${fixed(m.entropy, 4)} grad_norm ${fixed(m.grad_norm, 3)} lr ${lr} num_tokens ${m.num_tokens} ${completionSummary(m)} ${fixed(m.tokens_per_s, 0)} tok/s ${fixed(m.step_time, 2)} s`;
}

/** 75 → "1m15s", 3725 → "1h02m", 8 → "8s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `now` (ms) is injectable for tests. The ETA is the mean time of the steps finished since the
 * first update (a resumed run starts its clock there) times the steps left.
 */
export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = Date.now,
): Progress {
  // a pipe to the bin's launcher counts when the launcher's own stderr is a terminal
  const tty = isTerminal(stream);
  let last = '';
  let clock: { t0: number; done0: number } | undefined;
  const eta = (step: number, total: number) => {
    const finished = Math.min(step - 1, total);
    clock ??= { t0: now(), done0: finished };
    const since = finished - clock.done0;
    if (since <= 0) return '';
    const perStep = (now() - clock.t0) / 1000 / since;
    return ` · ETA ${formatDuration(perStep * (total - finished))}`;
  };
  return {
    update(phase, step, total, lastStep) {
      const width = 24;
      // `step` is the one in progress: the bar shows the finished ones
      const filled = Math.round((width * Math.min(step - 1, total)) / Math.max(1, total));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const rate = lastStep
        ? ` ${fixed(lastStep.tokens_per_s, 0)} tok/s ${completionSummary(lastStep)}`
        : '';
      const text = `${bar} step ${step}/${total} · ${phase}${rate}${eta(step, total)}`;
      // Plain output (CI logs, pipes) gets only the per-step lines of `line`.
      if (!tty) return;
      stream.write(`\r\x1b[2K${text}`);
      last = text;
    },
    line(text) {
      if (tty && last) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
      if (tty && last) stream.write(last);
    },
    done() {
      // the bar goes: what stays on screen is the per-step lines and the summary
      if (tty && last) stream.write('\r\x1b[2K');
      last = '';
    },
  };
}
