import type { StepMetrics } from '@oneshot-em/core';

/**
 * Progress: a single redrawn line on a TTY (phase, step, the last finished step's tokens/s,
 * mean completion length and clipped ratio), plain lines otherwise (CI logs, pipes). Never
 * writes to stdout, which belongs to results (`--json`).
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

/** The log line of one finished step (`train` prints it to stderr). */
export function stepLine(m: StepMetrics, total: number): string {
  const lr = Number.isFinite(m.learning_rate) ? m.learning_rate.toExponential(2) : '?';
  return `step ${m.step}/${total} loss ${fixed(m.loss, 4)} entropy ${fixed(m.entropy, 4)} grad_norm ${fixed(m.grad_norm, 3)} lr ${lr} ${completionSummary(m)} ${fixed(m.tokens_per_s, 0)} tok/s ${fixed(m.step_time, 2)} s`;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let last = '';
  return {
    update(phase, step, total, lastStep) {
      const width = 24;
      // `step` is the one in progress: the bar shows the finished ones
      const filled = Math.round((width * Math.min(step - 1, total)) / Math.max(1, total));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const rate = lastStep
        ? ` ${fixed(lastStep.tokens_per_s, 0)} tok/s ${completionSummary(lastStep)}`
        : '';
      const text = `${bar} step ${step}/${total} · ${phase}${rate}`;
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
      if (tty && last) stream.write('\n');
      last = '';
    },
  };
}
