/** One line of `<out>/metrics.jsonl`: snake_case keys, the names used in docs and logs. */
export interface StepMetrics {
  step: number;
  loss: number;
  /** mean token entropy (at the loss temperature) over the objective's mask */
  entropy: number;
  /** global L2 norm before clipping */
  grad_norm: number;
  lr: number;
  /** completion tokens trained on this step */
  tokens: number;
  tokens_per_s: number;
  seconds: {
    rollout: number;
    loss_grad: number;
    optimizer: number;
    checkpoint: number;
    total: number;
  };
  /** host↔device bytes this step (Backend.transfers() before and after it) */
  transfers: { bytes_up: number; bytes_down: number };
  /** the backend's tensor bytes (Backend.memory()) at the step's end and its peak, when reported */
  memory?: { live_bytes: number; peak_bytes: number };
}

/** A small self-contained SVG line plot of loss and entropy per step (`<out>/run.svg`). */
export function runSvg(metrics: readonly StepMetrics[], title = 'one-shot EM'): string {
  const W = 640;
  const H = 320;
  const m = { l: 56, r: 16, t: 32, b: 40 };
  const series = [
    { name: 'loss', color: '#d62728', values: metrics.map((x) => x.loss) },
    { name: 'entropy', color: '#1f77b4', values: metrics.map((x) => x.entropy) },
  ];
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  const span = hi - lo || 1;
  const steps = metrics.map((x) => x.step);
  const s0 = steps.length ? Math.min(...steps) : 0;
  const s1 = steps.length ? Math.max(...steps) : 1;
  const sx = (s: number) => m.l + ((s - s0) / (s1 - s0 || 1)) * (W - m.l - m.r);
  const sy = (v: number) => H - m.b - ((v - lo) / span) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">step</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = lo + (span * i) / 4;
    parts.push(
      `<text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${v.toPrecision(3)}</text>`,
      `<line x1="${m.l}" y1="${sy(v)}" x2="${W - m.r}" y2="${sy(v)}" stroke="#eee"/>`,
    );
  }
  for (const s of steps) {
    parts.push(`<text x="${sx(s)}" y="${H - m.b + 14}" text-anchor="middle">${s}</text>`);
  }
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${sx(steps[i]).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    const dash = k === 1 ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts}"/>`,
    );
    s.values.forEach((v, i) => {
      parts.push(
        `<circle cx="${sx(steps[i]).toFixed(1)}" cy="${sy(v).toFixed(1)}" r="3" fill="${s.color}"/>`,
      );
    });
    parts.push(
      `<text x="${W - m.r - 80}" y="${m.t + 14 * (k + 1)}" fill="${s.color}">— ${s.name}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
