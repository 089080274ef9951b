// Before/after plots for `oneshot-em compare`: histograms of the same quantity (logit values,
// token entropies) for the base and the trained model, drawn side by side on shared axes —
// the paper's logit-shift figure. Pure functions over plain arrays.

import { scaleLinear } from 'd3-scale';
import { fitTicks, px, text, textWidth } from '../plot/svg.js';

export interface Histogram {
  /** bins + 1 increasing edges; bin i is [edges[i], edges[i+1]), the last one closed. */
  edges: number[];
  counts: number[];
  /** Values that were NaN or ±Infinity, left out of the bins. */
  nonFinite: number;
}

export interface ValueSummary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Mean, standard deviation and range of the finite values (one pass, Welford). */
export function summarizeValues(values: ArrayLike<number>): ValueSummary {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) continue;
    count++;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { count, mean, std: count > 1 ? Math.sqrt(m2 / (count - 1)) : 0, min, max };
}

/** Count finite `values` into `bins` equal bins over [min, max]; values outside are clamped in. */
export function histogram(
  values: ArrayLike<number>,
  bins: number,
  min: number,
  max: number,
): Histogram {
  if (!(Number.isInteger(bins) && bins >= 1))
    throw new Error(`bins should be a positive integer, got ${bins}`);
  if (!(Number.isFinite(min) && Number.isFinite(max) && max >= min)) {
    throw new Error(`histogram range should be finite with max >= min, got [${min}, ${max}]`);
  }
  const width = max > min ? (max - min) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) {
      nonFinite++;
      continue;
    }
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((x - min) / width)));
    counts[bin]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  return { edges, counts, nonFinite };
}

export interface HistogramPairOptions {
  title: string;
  /** What the values are, e.g. "logit value" or "token entropy (nats)". */
  xLabel: string;
  base: ArrayLike<number>;
  trained: ArrayLike<number>;
  labels?: [string, string];
  bins?: number;
  /** Size of one panel in px. */
  panelWidth?: number;
  panelHeight?: number;
}

const fmt = (x: number) =>
  Math.abs(x) >= 1000 || (x !== 0 && Math.abs(x) < 0.01) ? x.toExponential(1) : x.toFixed(2);
const FONT = 11;
const COLORS = ['#4c72b0', '#dd8452'];

/**
 * Two histograms side by side with the same bins and the same y-scale (each bin's share of
 * the model's finite values, in %), the mean dashed, d3 nice ticks on both axes, axis titles
 * and a legend, as a standalone SVG document. NaN/±Infinity values are left out and counted.
 */
export function histogramPairSvg(options: HistogramPairOptions): string {
  const bins = options.bins ?? 60;
  const labels = options.labels ?? ['base', 'trained'];
  const pw = options.panelWidth ?? 360;
  const ph = options.panelHeight ?? 240;
  const margin = { left: 56, right: 16, top: 84, bottom: 48 };
  const stats = [summarizeValues(options.base), summarizeValues(options.trained)];
  const finite = stats.filter((s) => s.count > 0);
  const lo = finite.length ? Math.min(...finite.map((s) => s.min)) : 0;
  const hi = finite.length ? Math.max(...finite.map((s) => s.max)) : 1;
  const hists = [histogram(options.base, bins, lo, hi), histogram(options.trained, bins, lo, hi)];
  const densities = hists.map((h, i) =>
    h.counts.map((c) => (stats[i].count ? c / stats[i].count : 0)),
  );
  const top = Math.max(1e-12, ...densities.flat());
  const width = margin.left + 2 * (pw + margin.right) + margin.left;
  const height = margin.top + ph + margin.bottom;

  const panels = hists.map((h, p) => {
    const x0 = margin.left + p * (pw + margin.right + margin.left);
    const y0 = margin.top;
    const span = hi - lo || 1;
    const xOf = (v: number) => x0 + ((v - lo) / span) * pw;
    // ticks inside the data range (the bins span exactly [lo, hi])
    const x = scaleLinear()
      .domain(lo === hi ? [lo - 0.5, lo + 0.5] : [lo, hi])
      .range([x0, x0 + pw]);
    const xt = fitTicks(x, 'x', FONT);
    const y = scaleLinear()
      .domain([0, top * 100])
      .range([y0 + ph, y0]);
    const yt = fitTicks(y, 'y', FONT, { maxCount: 6 });
    const bars = densities[p]
      .map((d, i) => {
        const barHeight = (d / top) * ph;
        const bx = xOf(h.edges[i]);
        const w = Math.max(0, xOf(h.edges[i + 1]) - bx);
        return `<rect class="bar" x="${bx.toFixed(2)}" y="${(y0 + ph - barHeight).toFixed(2)}" width="${w.toFixed(2)}" height="${barHeight.toFixed(2)}" fill="${COLORS[p]}"/>`;
      })
      .join('');
    const s = stats[p];
    const meanLine =
      s.count > 0
        ? `<line class="mean" x1="${xOf(s.mean).toFixed(2)}" x2="${xOf(s.mean).toFixed(2)}" y1="${y0}" y2="${y0 + ph}" stroke="#222" stroke-dasharray="4 3"/>`
        : '';
    const caption = `${labels[p]}: n=${s.count}, mean=${fmt(s.mean)}, std=${fmt(s.std)}`;
    const nonFinite = hists[p].nonFinite;
    const leftOut = nonFinite
      ? [text(x0 + pw, y0 - 8, `${nonFinite} non-finite left out`, FONT, 'end', ' class="note"')]
      : [];
    const ticks = [
      ...xt.values.map(
        (v, i) =>
          `<line x1="${px(x(v))}" x2="${px(x(v))}" y1="${y0 + ph}" y2="${y0 + ph + 4}" stroke="#666"/>` +
          text(x(v), y0 + ph + 16, xt.labels[i], FONT, 'middle', ' class="tick"'),
      ),
      ...yt.values.map(
        (v, i) =>
          `<line x1="${x0 - 4}" x2="${x0}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="#666"/>` +
          text(x0 - 6, y(v) + 4, yt.labels[i], FONT, 'end', ' class="tick"'),
      ),
    ];
    return [
      `<g class="panel">`,
      `<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
      bars,
      meanLine,
      text(x0 + pw / 2, y0 - 26, caption, FONT, 'middle', ' class="caption"'),
      text(
        x0 - margin.left + 4,
        y0 - 8,
        'share of values per bin (%)',
        FONT,
        'start',
        ' class="axis-title"',
      ),
      ...leftOut,
      ...ticks,
      text(x0 + pw / 2, y0 + ph + 36, options.xLabel, FONT + 1, 'middle', ' class="axis-title"'),
      `</g>`,
    ].join('');
  });

  // legend, right-aligned in the row under the title: the two models' colours and the mean
  const legend: string[] = [];
  let right = width - margin.right;
  const items = [
    ...labels.map((l, i) => ({
      label: l,
      mark: (xm: number) =>
        `<rect x="${px(xm)}" y="36" width="12" height="10" fill="${COLORS[i]}"/>`,
    })),
    {
      label: 'mean',
      mark: (xm: number) =>
        `<line x1="${px(xm)}" x2="${px(xm + 12)}" y1="41" y2="41" stroke="#222" stroke-dasharray="4 3"/>`,
    },
  ];
  for (const item of items.reverse()) {
    const w = textWidth(item.label, FONT);
    legend.push(
      text(right - w, 45, item.label, FONT, 'start', ' class="legend"'),
      item.mark(right - w - 16),
    );
    right -= w + 30;
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(width / 2, 20, options.title, 14, 'middle', ' class="title"'),
    ...legend,
    ...panels,
    `</svg>`,
    '',
  ].join('\n');
}
