// The structure of a normalised answer: a scalar, an ordered tuple/interval, an unordered
// collection of answers, an interval union, or a matrix. Splitting respects nesting, so
// `(1,2),(3,4)` is a collection of two tuples.

export type AnswerShape =
  | { kind: 'scalar'; value: string }
  /** `(a,b)`, `[a,b)`: ordered items with their brackets (tuples, points and intervals). */
  | { kind: 'bracketed'; open: string; close: string; items: string[] }
  /** `a,b,c`, `\{a,b\}`, `a \pm b`: answers whose order does not matter. */
  | { kind: 'collection'; items: string[]; explicitSet: boolean }
  | { kind: 'union'; parts: AnswerShape[] }
  | { kind: 'matrix'; rows: string[][] };

const OPENERS = '([{';
const CLOSERS = ')]}';

/** Split at `separator` where no bracket is open. */
export function splitTopLevel(s: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (OPENERS.includes(c)) depth++;
    else if (CLOSERS.includes(c)) depth--;
    else if (depth === 0 && s.startsWith(separator, i)) {
      // `\cup` must not match inside a longer command; `,` always separates.
      parts.push(s.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim());
}

/** Index of the bracket closing the one opened at 0 (any bracket kind closes any). */
function matchingClose(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (OPENERS.includes(s[i])) depth++;
    else if (CLOSERS.includes(s[i]) && --depth === 0) return i;
  }
  return -1;
}

/** `a \pm b` → [a+b, a-b]; anything else → [s]. */
function expandPlusMinus(s: string): string[] {
  const pm = splitTopLevel(s, '\\pm');
  if (pm.length !== 2 || pm[1] === '') return [s];
  const [a, b] = pm;
  return [`${a}+${b}`, `${a}-${b}`];
}

export function answerShape(s: string): AnswerShape {
  const matrix = /^\\begin\{pmatrix\}(.*)\\end\{pmatrix\}$/.exec(s);
  if (matrix) {
    const rows = matrix[1].split('\\\\').filter((r) => r.trim() !== '');
    return { kind: 'matrix', rows: rows.map((r) => r.split('&').map((c) => c.trim())) };
  }
  const union = splitTopLevel(s, '\\cup');
  if (union.length > 1) return { kind: 'union', parts: union.map(answerShape) };
  const set = /^\\\{(.*)\\\}$/.exec(s);
  if (set && matchingClose(s.slice(1)) === s.length - 2) {
    return {
      kind: 'collection',
      items: splitTopLevel(set[1], ',').flatMap(expandPlusMinus),
      explicitSet: true,
    };
  }
  if ('(['.includes(s[0]) && ')]'.includes(s[s.length - 1]) && matchingClose(s) === s.length - 1) {
    const inner = splitTopLevel(s.slice(1, -1), ',');
    if (inner.length > 1)
      return { kind: 'bracketed', open: s[0], close: s[s.length - 1], items: inner };
  }
  const items = splitTopLevel(s, ',');
  if (items.length > 1)
    return { kind: 'collection', items: items.flatMap(expandPlusMinus), explicitSet: false };
  const pm = expandPlusMinus(s);
  if (pm.length > 1) return { kind: 'collection', items: pm, explicitSet: true };
  return { kind: 'scalar', value: s };
}
