// Small helpers shared by the run plot (train/metrics.ts) and the compare histograms
// (eval/histogram-svg.ts): nice ticks from d3-scale, thinned until their labels fit, and
// polylines that skip NaN/±Infinity points instead of emitting NaN coordinates.

import { type ScaleLinear, scaleLinear } from 'd3-scale';

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Estimated width of a label in px: the 0.6 em average glyph of a sans-serif font. */
export const textWidth = (text: string, fontSize: number): number => fontSize * 0.6 * text.length;

/** A coordinate as written into the SVG: 2 decimals, never NaN (callers skip non-finite data). */
export const px = (v: number): string => {
  if (!Number.isFinite(v)) throw new Error(`plot: non-finite coordinate ${v}`);
  return String(Math.round(v * 100) / 100);
};

const shortExp = (v: number): string =>
  v === 0
    ? '0'
    : v
        .toExponential(2)
        .replace(/\.?0+e/, 'e')
        .replace('e+', 'e');

export interface Ticks {
  values: number[];
  labels: string[];
  /** the count asked of d3 (`scale.ticks(count)`) for these ticks */
  count: number;
}

/**
 * The densest d3 nice ticks (`scale.ticks(n)`, n from `maxCount` down) whose labels do not
 * overlap along the axis. `along` is 'x' (labels side by side: their widths must fit between
 * neighbours) or 'y' (stacked: one line height apart). `integers` keeps only whole values
 * (steps).
 */
export function fitTicks(
  scale: ScaleLinear<number, number>,
  along: 'x' | 'y',
  fontSize: number,
  options: { integers?: boolean; maxCount?: number } = {},
): Ticks {
  let fallback: Ticks = { values: [], labels: [], count: 1 };
  for (let count = options.maxCount ?? 10; count >= 1; count--) {
    const format = scale.tickFormat(count);
    const values = scale.ticks(count).filter((v) => !options.integers || Number.isInteger(v));
    // d3's fixed-point labels get long for tiny or huge values: exponent notation then (and
    // below 1e-3, where counting zeros is the reader's work: learning rates)
    const plain = values.map((v) => format(v).replace('−', '-'));
    const tiny = values.some((v) => v !== 0 && Math.abs(v) < 1e-3);
    const labels = tiny || plain.some((l) => l.length > 8) ? values.map(shortExp) : plain;
    const ticks = { values, labels, count };
    if (count === 1 || values.length <= 1) fallback = ticks;
    let fits = true;
    for (let i = 1; i < values.length && fits; i++) {
      const gap = Math.abs(scale(values[i]) - scale(values[i - 1]));
      const need =
        along === 'x'
          ? (textWidth(labels[i], fontSize) + textWidth(labels[i - 1], fontSize)) / 2 + 6
          : fontSize * 1.2;
      fits = gap >= need;
    }
    if (fits && values.length > 0) return ticks;
  }
  return fallback;
}

/** A domain d3 can make nice ticks for: finite values' range, widened when it is one point. */
export function valueDomain(values: readonly number[], zeroBased = false): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (zeroBased) lo = Math.min(0, lo);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/** A linear scale over `domain` rounded out to nice values (`.nice()`). */
export function niceScale(domain: [number, number], range: [number, number]) {
  return scaleLinear().domain(domain).range(range).nice();
}

/**
 * `<polyline>` elements through the finite points: a NaN or ±Infinity value ends one
 * segment and the next finite value starts another (a lone point becomes a dot).
 */
export function polylines(
  xs: readonly number[],
  ys: readonly number[],
  attrs: string,
  dotRadius = 2,
  dotFill = '#000',
): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length > 1) out.push(`<polyline fill="none" ${attrs} points="${run.join(' ')}"/>`);
    else if (run.length === 1) {
      const [cx, cy] = run[0].split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="${dotRadius}" fill="${dotFill}"/>`);
    }
    run = [];
  };
  for (let i = 0; i < xs.length; i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) run.push(`${px(xs[i])},${px(ys[i])}`);
    else flush();
  }
  flush();
  return out;
}

/** `<text>` with its font size always written out (the structural test reads it). */
export function text(
  x: number,
  y: number,
  content: string,
  fontSize: number,
  anchor: 'start' | 'middle' | 'end' = 'start',
  extra = '',
): string {
  return `<text x="${px(x)}" y="${px(y)}" font-size="${fontSize}" text-anchor="${anchor}"${extra}>${escapeXml(content)}</text>`;
}
