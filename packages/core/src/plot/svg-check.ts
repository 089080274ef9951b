// A structural check of our SVG plots for tests (no browser here): every coordinate finite
// and inside the viewBox, and no two text boxes overlapping, a box being the label's
// estimated extent (font-size × 0.6 per character wide, one font-size tall).

export interface TextBox {
  text: string;
  className: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

const attr = (tag: string, name: string): string | undefined =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

export function textBoxes(svg: string): TextBox[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, tag, body]) => {
    const x = Number(attr(tag, 'x'));
    const y = Number(attr(tag, 'y'));
    const size = Number(attr(tag, 'font-size'));
    const content = unescapeXml(body);
    const w = size * 0.6 * content.length;
    const anchor = attr(tag, 'text-anchor') ?? 'start';
    const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    // baseline at y: ascenders reach about 0.8 em above, descenders 0.2 em below
    return {
      text: content,
      className: attr(tag, 'class') ?? '',
      x0,
      x1: x0 + w,
      y0: y - 0.8 * size,
      y1: y + 0.2 * size,
    };
  });
}

/** Problems found, empty when the plot passes. */
export function checkSvg(svg: string): string[] {
  const problems: string[] = [];
  if (/NaN|Infinity/.test(svg)) problems.push('"NaN" or "Infinity" in the SVG');
  const vb = /viewBox="([^"]+)"/.exec(svg)?.[1].split(/\s+/).map(Number);
  if (vb?.length !== 4) return [...problems, 'no viewBox'];
  const [vx, vy, vw, vh] = vb;
  const inside = (v: number, lo: number, hi: number) => v >= lo - 0.01 && v <= hi + 0.01;
  for (const [tag] of svg.matchAll(/<(?:line|rect|circle|text|polyline)\b[^>]*>/g)) {
    for (const name of ['x', 'x1', 'x2', 'cx', 'y', 'y1', 'y2', 'cy', 'width', 'height']) {
      const raw = attr(tag, name);
      if (raw === undefined || raw.endsWith('%')) continue;
      const v = Number(raw);
      const isX = name.startsWith('x') || name === 'cx' || name === 'width';
      const ok = Number.isFinite(v) && (isX ? inside(v, vx, vx + vw) : inside(v, vy, vy + vh));
      if (!ok) problems.push(`${name}="${raw}" outside the viewBox in ${tag.slice(0, 80)}`);
    }
    const points = attr(tag, 'points');
    for (const p of points ? points.split(' ') : []) {
      const [x, y] = p.split(',').map(Number);
      if (!(inside(x, vx, vx + vw) && inside(y, vy, vy + vh)))
        problems.push(`point ${p} outside the viewBox`);
    }
  }
  const boxes = textBoxes(svg);
  for (const b of boxes) {
    if (!(b.x0 >= vx && b.x1 <= vx + vw && b.y0 >= vy && b.y1 <= vy + vh))
      problems.push(`text "${b.text}" extends outside the viewBox`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1)
        problems.push(`text "${a.text}" overlaps "${b.text}"`);
    }
  }
  return problems;
}
