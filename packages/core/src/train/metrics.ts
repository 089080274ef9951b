import { scaleLinear } from 'd3-scale';
import { escapeXml, fitTicks, niceScale, polylines, px, text, valueDomain } from '../plot/svg.js';

/**
 * One line of `<out>/metrics.jsonl`, one per optimizer step: flat keys with TRL's names and
 * meanings (`completions/…`), snake_case elsewhere. A value the run could not know (a step
 * logged by an older version, read back on --resume) is NaN, written as null.
 */
export interface StepMetrics {
  step: number;
  loss: number;
  /** mean token entropy (at the loss temperature) over the objective's mask */
  entropy: number;
  /** global L2 norm before clipping */
  grad_norm: number;
  learning_rate: number;
  /** tokens trained on so far, this step included: prompt + completion (with its EOS), no pad */
  num_tokens: number;
  /** completion lengths in tokens (EOS included) over this step's effective batch */
  'completions/mean_length': number;
  'completions/min_length': number;
  'completions/max_length': number;
  /** fraction of this step's completions without an EOS (cut off at --max-new-tokens) */
  'completions/clipped_ratio': number;
  /** completion tokens per second of rollout + loss/grad */
  tokens_per_s: number;
  /** seconds, the whole step */
  step_time: number;
  /** seconds per phase */
  'time/rollout': number;
  'time/loss_grad': number;
  'time/optimizer': number;
  'time/checkpoint': number;
  /** host↔device bytes this step (Backend.transfers() before and after it) */
  transfers: { bytes_up: number; bytes_down: number };
  /** the backend's tensor bytes (Backend.memory()) at the step's end and its peak, when reported */
  memory?: { live_bytes: number; peak_bytes: number };
}

export type CompletionStats = Pick<
  StepMetrics,
  | 'completions/mean_length'
  | 'completions/min_length'
  | 'completions/max_length'
  | 'completions/clipped_ratio'
>;

/** TRL's completion statistics: lengths include the EOS; clipped = no EOS in the completion. */
export function completionStats(
  completions: readonly (readonly number[])[],
  eosIds: readonly number[],
): CompletionStats {
  const eos = new Set(eosIds);
  const lengths = completions.map((c) => c.length);
  const clipped = completions.filter((c) => !c.some((t) => eos.has(t))).length;
  const n = completions.length;
  return {
    'completions/mean_length': n ? lengths.reduce((a, b) => a + b, 0) / n : Number.NaN,
    'completions/min_length': n ? Math.min(...lengths) : Number.NaN,
    'completions/max_length': n ? Math.max(...lengths) : Number.NaN,
    'completions/clipped_ratio': n ? clipped / n : Number.NaN,
  };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/**
 * One metrics.jsonl line as a StepMetrics. Lines written before the TRL names (`lr`,
 * `tokens`, nested `seconds`) are converted: `num_tokens` then continues from
 * `prevNumTokens` by the old line's completion tokens (the prompt tokens were not logged).
 */
export function readStepMetrics(raw: Record<string, unknown>, prevNumTokens = 0): StepMetrics {
  if ('learning_rate' in raw) {
    const m = { ...raw } as Record<string, unknown>;
    for (const [k, v] of Object.entries(m)) if (v === null) m[k] = Number.NaN;
    return m as unknown as StepMetrics;
  }
  const seconds = (raw.seconds ?? {}) as Record<string, unknown>;
  return {
    step: num(raw.step),
    loss: num(raw.loss),
    entropy: num(raw.entropy),
    grad_norm: num(raw.grad_norm),
    learning_rate: num(raw.lr),
    num_tokens: prevNumTokens + num(raw.tokens),
    'completions/mean_length': Number.NaN,
    'completions/min_length': Number.NaN,
    'completions/max_length': Number.NaN,
    'completions/clipped_ratio': Number.NaN,
    tokens_per_s: num(raw.tokens_per_s),
    step_time: num(seconds.total),
    'time/rollout': num(seconds.rollout),
    'time/loss_grad': num(seconds.loss_grad),
    'time/optimizer': num(seconds.optimizer),
    'time/checkpoint': num(seconds.checkpoint),
    transfers: (raw.transfers as StepMetrics['transfers']) ?? { bytes_up: 0, bytes_down: 0 },
    ...(raw.memory !== undefined && { memory: raw.memory as StepMetrics['memory'] }),
  };
}

interface Series {
  name: string;
  color: string;
  dash?: string;
  values: number[];
}

interface Panel {
  /** the y axis title, with its unit */
  title: string;
  series: Series[];
  zeroBased?: boolean;
}

const FONT = 11;
/** Markers at every point only while they stay apart. */
const MAX_MARKED_STEPS = 60;

/**
 * The run plot (`<out>/run.svg`): stacked panels sharing the step axis — loss and entropy,
 * gradient norm, completion length, clipped completions, and the learning rate when a schedule
 * moves it — with d3 nice ticks thinned until
 * their labels fit, a legend per panel, and NaN/Infinity values left out (gaps in the line).
 */
export function runSvg(metrics: readonly StepMetrics[], title = 'one-shot EM'): string {
  const col = (k: keyof StepMetrics) => metrics.map((m) => num(m[k]));
  const panels: Panel[] = [
    {
      title: 'loss, entropy (nats)',
      series: [
        { name: 'loss', color: '#d62728', values: col('loss') },
        { name: 'entropy', color: '#1f77b4', dash: '6 4', values: col('entropy') },
      ],
    },
    {
      title: 'gradient norm (before clipping)',
      series: [{ name: 'grad_norm', color: '#2ca02c', values: col('grad_norm') }],
      zeroBased: true,
    },
    {
      title: 'completion length (tokens)',
      series: [
        { name: 'mean', color: '#9467bd', values: col('completions/mean_length') },
        { name: 'min', color: '#c5b0d5', dash: '3 3', values: col('completions/min_length') },
        { name: 'max', color: '#7f5fa0', dash: '3 3', values: col('completions/max_length') },
      ],
      zeroBased: true,
    },
    {
      title: 'clipped completions (%, no EOS)',
      series: [
        {
          name: 'clipped',
          color: '#ff7f0e',
          values: col('completions/clipped_ratio').map((v) => v * 100),
        },
      ],
      zeroBased: true,
    },
  ];
  // a schedule (lr-schedule.ts): its rate gets a panel; a constant rate would be a flat line
  const rates = col('learning_rate').filter(Number.isFinite);
  if (rates.some((r) => r !== rates[0])) {
    panels.push({
      title: 'learning rate',
      series: [{ name: 'learning_rate', color: '#8c564b', values: col('learning_rate') }],
      zeroBased: true,
    });
  }
  const W = 720;
  const m = { l: 76, r: 20, t: 34 };
  const header = 24;
  const plotH = 110;
  const gap = 14;
  const bottom = 44;
  const H = m.t + panels.length * (header + plotH + gap) - gap + bottom;
  const steps = metrics.map((x) => x.step);
  const finiteSteps = steps.filter(Number.isFinite);
  let s0 = finiteSteps.length ? Math.min(...finiteSteps) : 0;
  let s1 = finiteSteps.length ? Math.max(...finiteSteps) : 1;
  if (s0 === s1) [s0, s1] = [Math.max(0, s0 - 1), s0 + 1];
  const x = scaleLinear()
    .domain([s0, s1])
    .range([m.l, W - m.r]);
  const xt = fitTicks(x, 'x', FONT, { integers: true });
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(W / 2, 20, title, 14, 'middle', ' class="title"'),
  ];
  panels.forEach((p, k) => {
    const top = m.t + k * (header + plotH + gap) + header;
    const y = niceScale(
      valueDomain(
        p.series.flatMap((s) => s.values),
        p.zeroBased,
      ),
      [top + plotH, top],
    );
    const yt = fitTicks(y, 'y', FONT, { maxCount: 5 });
    parts.push(`<g class="panel">`);
    parts.push(text(m.l, top - 8, p.title, FONT + 1, 'start', ' class="axis-title"'));
    for (const [i, v] of yt.values.entries()) {
      parts.push(
        `<line x1="${m.l}" y1="${px(y(v))}" x2="${W - m.r}" y2="${px(y(v))}" stroke="#eee"/>`,
        text(m.l - 6, y(v) + 4, yt.labels[i], FONT, 'end', ' class="tick"'),
      );
    }
    for (const v of xt.values) {
      parts.push(
        `<line x1="${px(x(v))}" y1="${top}" x2="${px(x(v))}" y2="${top + plotH}" stroke="#f2f2f2"/>`,
      );
    }
    parts.push(
      `<rect x="${m.l}" y="${top}" width="${W - m.l - m.r}" height="${plotH}" fill="none" stroke="#999"/>`,
    );
    const anyFinite = p.series.some((s) => s.values.some(Number.isFinite));
    if (!anyFinite) {
      parts.push(text(m.l + (W - m.l - m.r) / 2, top + plotH / 2, 'no data', FONT, 'middle'));
    }
    for (const s of p.series) {
      const xs = steps.map((v) => x(v));
      const ys = s.values.map((v) => (Number.isFinite(v) ? y(v) : Number.NaN));
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      parts.push(...polylines(xs, ys, `stroke="${s.color}" stroke-width="1.5"${dash}`, 2, s.color));
      if (metrics.length <= MAX_MARKED_STEPS) {
        xs.forEach((cx, i) => {
          if (Number.isFinite(cx) && Number.isFinite(ys[i]))
            parts.push(`<circle cx="${px(cx)}" cy="${px(ys[i])}" r="2.5" fill="${s.color}"/>`);
        });
      }
    }
    // legend, right-aligned in the header row: a line sample then the series name
    let right = W - m.r;
    for (const s of [...p.series].reverse()) {
      const label = escapeXml(s.name);
      const w = FONT * 0.6 * s.name.length;
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      parts.push(
        `<text x="${px(right - w)}" y="${top - 8}" font-size="${FONT}" text-anchor="start" class="legend">${label}</text>`,
        `<line x1="${px(right - w - 22)}" y1="${top - 12}" x2="${px(right - w - 4)}" y2="${top - 12}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      );
      right -= w + 34;
    }
    parts.push('</g>');
  });
  const axisY = m.t + panels.length * (header + plotH + gap) - gap;
  for (const [i, v] of xt.values.entries()) {
    parts.push(text(x(v), axisY + 18, xt.labels[i], FONT, 'middle', ' class="tick"'));
  }
  parts.push(
    text(m.l + (W - m.l - m.r) / 2, axisY + 36, 'step', FONT + 1, 'middle', ' class="axis-title"'),
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
