/**
 * Progress: a single redrawn line on a TTY (phase, step, tokens/s), plain lines otherwise
 * (CI logs, pipes). Never writes to stdout, which belongs to results (`--json`).
 */
export interface Progress {
  /** `step` (1-based) is in progress; `tokensPerS` is the last finished step's. */
  update(phase: string, step: number, total: number, tokensPerS?: number): void;
  line(text: string): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let last = '';
  return {
    update(phase, step, total, tokensPerS) {
      const width = 24;
      // `step` is the one in progress: the bar shows the finished ones
      const filled = Math.round((width * Math.min(step - 1, total)) / Math.max(1, total));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const rate = tokensPerS !== undefined ? ` ${tokensPerS.toFixed(0)} tok/s` : '';
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
