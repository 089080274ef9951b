// Answer normalisation before comparison, matching what the Qwen2.5-Math harness strips:
// layout commands (\left, \right, \!, \,), dollars, \text{…} and unit wrappers, degree signs,
// trailing periods, spaces, \dfrac/\tfrac, bare fraction and root arguments (\frac12,
// \sqrt3), a/b of integers, "x = …" with a short left side, and decimal trailing zeros.

/**
 * Units that may trail a numeric answer after a space (singular; plurals and squares/cubes
 * match too). No single letters: `\frac{37}{4} m` or `3 n` are expressions, not units.
 */
const UNITS = [
  'degree',
  'radian',
  'unit',
  'square unit',
  'cubic unit',
  'sq unit',
  'cm',
  'mm',
  'km',
  'meter',
  'metre',
  'centimeter',
  'kilometer',
  'millimeter',
  'inch',
  'inches',
  'foot',
  'feet',
  'ft',
  'yard',
  'mile',
  'mph',
  'km/h',
  'm/s',
  'second',
  'sec',
  'minute',
  'min',
  'hour',
  'hr',
  'day',
  'week',
  'month',
  'year',
  'gram',
  'kg',
  'pound',
  'lb',
  'ounce',
  'oz',
  'liter',
  'litre',
  'ml',
  'gallon',
  'cent',
  'dollar',
  'euro',
  'point',
  'student',
  'people',
  'person',
  'child',
  'children',
  'apple',
  'ball',
  'book',
  'page',
  'time',
  'way',
  'step',
  'hand',
];
const UNIT_RE = new RegExp(
  `^(.*?[\\d}).])\\s+(?:${UNITS.map((u) => u.replace('/', '\\/')).join('|')})(?:s|es)?(?:\\^\\{?[23]\\}?)?$`,
  'i',
);

/** Replace `\cmd{…}` (balanced braces) by `render(content)`. */
function replaceCommand(s: string, cmd: string, render: (content: string) => string): string {
  let out = s;
  for (let at = out.indexOf(`\\${cmd}{`); at >= 0; at = out.indexOf(`\\${cmd}{`, at)) {
    const open = at + cmd.length + 1;
    let depth = 0;
    let close = -1;
    for (let j = open; j < out.length; j++) {
      if (out[j] === '{') depth++;
      else if (out[j] === '}' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) break;
    const replacement = render(out.slice(open + 1, close));
    out = out.slice(0, at) + replacement + out.slice(close + 1);
    at += replacement.length;
  }
  return out;
}

/** `\frac12` → `\frac{1}{2}`, `\frac 59` → `\frac{5}{9}`, `\frac9{19}` → `\frac{9}{19}`. */
function braceFractions(s: string): string {
  return s.replace(
    /\\frac\s*(\{[^{}]*\}|[0-9a-zA-Z])\s*(\{[^{}]*\}|[0-9a-zA-Z])/g,
    (_m, a: string, b: string) => {
      const wrap = (x: string) => (x.startsWith('{') ? x : `{${x}}`);
      return `\\frac${wrap(a)}${wrap(b)}`;
    },
  );
}

/**
 * Remove whitespace except where it separates a command from a following letter (`\cot x`)
 * or two digits (`\log_2 8` is not `\log_{28}`).
 */
function removeSpaces(s: string): string {
  return s.replace(/(\\[a-zA-Z]+)?\s+/g, (m, cmd: string | undefined, offset: number) => {
    const next = s[offset + m.length] ?? '';
    if (!cmd) return /\d/.test(s[offset - 1] ?? '') && /\d/.test(next) ? ' ' : '';
    return /[a-zA-Z0-9]/.test(next) ? `${cmd} ` : cmd;
  });
}

/** Normalise an answer string for comparison (idempotent). */
export function normalizeAnswer(answer: string): string {
  let s = String(answer).replace(/\n/g, ' ').trim();
  s = s
    .replace(/\\(?:!|,|;|:|quad|qquad)/g, '')
    .replace(/(?<!\\)\\ /g, ' ')
    .replace(/~/g, ' ');
  s = s.replace(/\\[dt]frac/g, '\\frac').replace(/\\displaystyle/g, '');
  s = s.replace(/\\(text|textbf|mbox|mathrm|mathbf|textit|operatorname)\s+\{/g, '\\$1{');
  s = s.replace(/\\left\s*\./g, '').replace(/\\right\s*\./g, '');
  s = s
    .replace(/\\left\b\s*/g, '')
    .replace(/\\right\b\s*/g, '')
    .replace(/\\big[lr]?\b|\\Big[lr]?\b/g, '');
  s = s
    .replace(/\\\$/g, '')
    .replace(/\$/g, '')
    .replace(/\\\(|\\\)/g, '');
  s = s.replace(/\\(?:leqslant|leq)\b/g, '\\le').replace(/\\(?:geqslant|geq)\b/g, '\\ge');
  s = s.replace(/\\neq\b/g, '\\ne').replace(/bmatrix/g, 'pmatrix');
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b/g, '');
  // "3 and 5", "x=2 \text{ or } x=-3": several answers.
  s = s.replace(/\s*\\text\{\s*(?:and|or)\s*\}\s*|\s+(?:and|or)\s+/g, ',');
  // A trailing \text{…}/\mbox{…} after a value is a unit; any other one is just a wrapper.
  const unitless = s.replace(/\s*\\(?:text|mbox|mathrm)\{[^{}]*\}(?:\^\{?[23]\}?)?$/, '').trim();
  if (unitless !== '' && unitless !== s && /[\d}]$/.test(unitless)) s = unitless;
  for (const cmd of ['text', 'textbf', 'mbox', 'mathrm', 'mathbf', 'textit', 'operatorname']) {
    s = replaceCommand(s, cmd, (content) => content.replace(/^\s*~?/, ''));
  }
  s = s.replace(/\\%|%/g, '');
  s = s.trim();
  const unit = UNIT_RE.exec(s);
  if (unit && unit[1].trim() !== '') s = unit[1];
  s = s.replace(/\s*\b(?:infinity|inf)\b/gi, '\\infty');
  s = removeSpaces(s);
  s = s.replace(/\.+$/, '');
  s = braceFractions(s);
  s = s.replace(/\\sqrt(\d|[a-zA-Z](?![a-zA-Z]))/g, '\\sqrt{$1}');
  s = s.replace(/(^|[^\d])\.(\d)/g, '$10.$2');
  s = s.replace(/(\d)\.0*(?!\d)/g, '$1').replace(/(\.\d*?[1-9])0+(?!\d)/g, '$1');
  const slash = /^(-?\d+)\/(\d+)$/.exec(s);
  if (slash) s = `\\frac{${slash[1]}}{${slash[2]}}`;
  // "x=5", "k \in [2,5)": a short variable on the left names the answer, it is not part of it.
  const named = /^([a-zA-Z]|[a-zA-Z]_\{?\w+\}?)(?:=|\\in)(.+)$/.exec(s);
  if (named && !named[2].includes('=')) s = named[2];
  if (s === '0.5') s = '\\frac{1}{2}';
  return s;
}
