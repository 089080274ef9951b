// Mathematical equality of two LaTeX expressions through @cortex-js/compute-engine: parse
// both, then compare exact forms, numeric values, or — with free variables — values at a few
// fixed sample points (a probabilistic identity test, as computer-algebra graders do when
// simplification is inconclusive).

import { ComputeEngine } from '@cortex-js/compute-engine';

// The package's type entry re-exports this type through an extensionless path NodeNext cannot follow.
type BoxedExpression = ReturnType<ComputeEngine['parse']>;

/** Thrown when a comparison runs past its deadline; the grader counts it as wrong. */
export class GradeTimeoutError extends Error {
  constructor(limitMs: number) {
    super(`grading took longer than ${limitMs} ms`);
    this.name = 'GradeTimeoutError';
  }
}

/** A deadline checked between library calls (a single call cannot be pre-empted in-process). */
export interface Deadline {
  readonly limitMs: number;
  readonly at: number;
}

export function checkDeadline(deadline: Deadline): void {
  if (performance.now() > deadline.at) throw new GradeTimeoutError(deadline.limitMs);
}

/**
 * Values substituted for free variables (point k gives variable j the value [k][j mod 4]):
 * irrational-looking and positive, so logs and roots stay real.
 */
const SAMPLE_POINTS = [
  [0.7371, 1.3183, 2.2917, 0.4219],
  [1.8529, 0.6133, 1.1447, 2.7061],
  [2.4783, 1.9651, 0.8837, 1.5303],
  [1.2239, 2.8167, 1.6721, 0.9413],
];
/** For factorials and binomials: integers, with the variables in different orders. */
const INTEGER_POINTS = [
  [7, 3, 5, 2],
  [9, 4, 2, 6],
  [12, 5, 8, 3],
  [6, 2, 4, 9],
];
/**
 * For floor/ceiling (step functions agree on most points): every integer 1…24 (competition
 * variables are mostly integers; variable j is shifted by 7j) and the sample points ten times
 * wider.
 */
const STEP_POINTS = [
  ...Array.from({ length: 24 }, (_, i) => [0, 1, 2, 3].map((j) => ((i + 7 * j) % 24) + 1)),
  ...SAMPLE_POINTS.map((point) => point.map((x) => 10 * x)),
];
/**
 * Longer expressions are not parsed: the longest bundled reference is 174 characters, and the
 * engine takes seconds on a few thousand characters of degenerate output.
 */
const MAX_EXPRESSION_LENGTH = 400;
/** Exponents and factorials past these sizes are not evaluated (they would exhaust memory). */
const MAX_EXPONENT = 5000;
const MAX_FACTORIAL = 2000;

const GREEK =
  'alpha|beta|gamma|delta|epsilon|zeta|eta|theta|kappa|lambda|mu|nu|xi|rho|sigma|tau|phi|chi|psi|omega';
/** A letter (not a command such as `\log`) with a subscript. */
const SUBSCRIPTED = new RegExp(
  `(?<![\\\\a-zA-Z])((?:\\\\(?:${GREEK}|${GREEK.replace(/\b(\w)/g, (c) => c.toUpperCase())}))|[a-zA-Z])_(?:\\{([a-zA-Z0-9]+)\\}|([a-zA-Z0-9]))`,
  'g',
);

/** Rewrite LaTeX the engine reads differently from how maths answers mean it. */
function prepareLatex(s: string): string {
  let out = s;
  // x_0, C_{1}, \lambda_{red}: one symbol each, not an indexed list.
  out = out.replace(
    SUBSCRIPTED,
    (_m, base: string, braced?: string, single?: string) =>
      `\\mathrm{${base.replace('\\', '')}_${braced ?? single}}`,
  );
  // \binom{n}{k} is not in the engine's LaTeX dictionary.
  out = out.replace(/\\binom\{([^{}]*)\}\{([^{}]*)\}/g, '\\frac{($1)!}{($2)!(($1)-($2))!}');
  out = out.replace(/\\exp\{([^{}]*)\}/g, '\\exp($1)');
  out = out.replace(/\\arc(sin|cos|tan)\{([^{}]*)\}/g, '\\arc$1($2)');
  // I(0), f(1): a function at a number, not I·0. An opaque symbol keeps it distinct.
  out = out.replace(/(?<![\\a-zA-Z])([a-zA-Z])\((\d+)\)/g, '\\mathrm{$1_at_$2}');
  // D and N throw inside the engine, G is Catalan's constant: plain variables in answers.
  out = out.replace(/(?<![\\a-zA-Z])([DGN])(?![a-zA-Z_])/g, '\\mathrm{$1}');
  return out;
}

/** Whether `json` (MathJSON) mentions `name` as an operator anywhere. */
function mentions(json: unknown, name: string): boolean {
  return Array.isArray(json) && (json[0] === name || json.some((part) => mentions(part, name)));
}

/** True when evaluating `json` numerically could blow up (huge powers or factorials). */
function tooLargeToEvaluate(json: unknown): boolean {
  if (!Array.isArray(json)) return false;
  const [head, ...args] = json;
  if (head === 'Power' && typeof args[1] === 'number' && Math.abs(args[1]) > MAX_EXPONENT) {
    return true;
  }
  if (head === 'Power' && mentions(args[1], 'Power')) return true;
  if (head === 'Factorial' && typeof args[0] === 'number' && args[0] > MAX_FACTORIAL) return true;
  if (head === 'Factorial' && (mentions(args[0], 'Power') || mentions(args[0], 'Factorial'))) {
    return true;
  }
  return args.some(tooLargeToEvaluate);
}

interface Complex {
  re: number;
  im: number;
}

/** The numeric value, or undefined where the engine cannot give one (or throws trying). */
function numericValue(expr: BoxedExpression): Complex | undefined {
  let n: BoxedExpression;
  try {
    n = expr.N();
  } catch {
    return undefined;
  }
  const re = n.re;
  const im = n.im ?? 0;
  if (typeof re !== 'number' || Number.isNaN(re) || Number.isNaN(im)) return undefined;
  return { re, im };
}

/** Below this, a difference is floating-point noise (sin π = 1.2e-16 is 0). */
const ABSOLUTE_FLOOR = 1e-14;

/** Finite values within relTol of each other (or both within the noise floor of 0). */
function complexClose(a: Complex, b: Complex, relTol: number): boolean {
  const scale = Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
  if (!Number.isFinite(scale)) return false;
  return Math.hypot(a.re - b.re, a.im - b.im) <= Math.max(relTol * scale, ABSOLUTE_FLOOR);
}

export interface LatexEqualOptions {
  /** Relative tolerance of numeric comparison (1e-4 where one side is a decimal approximation). */
  relTol: number;
  deadline: Deadline;
  /** One engine per graded answer; each comparison runs in its own scope, so symbols typed by one
   *  expression (x as a list in `x_0`) do not leak into the next. */
  engine: ComputeEngine;
}

export function createMathEngine(): ComputeEngine {
  return new ComputeEngine();
}

/**
 * The engine rounds magnitudes below ~1e-10 to 0 whatever its tolerance (and its 'machine'
 * precision mode mis-evaluates logs and big rationals), so a 0 from an expression holding
 * such a literal (7.4e-12, 10^{-12}) means nothing.
 */
const TINY_LITERAL = /\d[eE]-\d{2,}|10\^\{?-\d{2,}/;

/** Run `compare` inside a fresh scope of the engine. */
function scoped<T>(engine: ComputeEngine, compare: () => T): T {
  engine.pushScope();
  try {
    return compare();
  } finally {
    engine.popScope();
  }
}

function parsePair(
  a: string,
  b: string,
  options: LatexEqualOptions,
): [BoxedExpression, BoxedExpression] | undefined {
  if (a.length > MAX_EXPRESSION_LENGTH || b.length > MAX_EXPRESSION_LENGTH) return undefined;
  const A = options.engine.parse(prepareLatex(a));
  const B = options.engine.parse(prepareLatex(b));
  checkDeadline(options.deadline);
  return A.isValid && B.isValid ? [A, B] : undefined;
}

/** Values of A and B at the sample points where both are defined; undefined if only one is. */
function samplePoints(A: BoxedExpression, B: BoxedExpression): number[][] {
  const uses = (name: string) => mentions(A.json, name) || mentions(B.json, name);
  if (uses('Factorial')) return INTEGER_POINTS;
  if (uses('Floor') || uses('Ceil') || uses('Round') || uses('Mod')) return STEP_POINTS;
  return SAMPLE_POINTS;
}

/**
 * [A, B] values at the sample points where both are finite; undefined where only one is (the
 * expressions then differ). Points where neither is finite say nothing and are skipped.
 */
function sampleBoth(A: BoxedExpression, B: BoxedExpression, free: string[], deadline: Deadline) {
  const finite = (v: Complex | undefined) =>
    v && Number.isFinite(v.re) && Number.isFinite(v.im) ? v : undefined;
  const samples: [Complex, Complex][] = [];
  for (const values of samplePoints(A, B)) {
    const point: Record<string, number> = {};
    for (const [j, name] of free.entries())
      point[name] = values[j % values.length] + 0.01 * Math.floor(j / values.length);
    const va = finite(numericValue(A.subs(point)));
    const vb = finite(numericValue(B.subs(point)));
    checkDeadline(deadline);
    if (!va !== !vb) return undefined;
    if (va && vb) samples.push([va, vb]);
  }
  return samples;
}

/**
 * `true`/`false` when both parse and the engine can decide; `undefined` when either does not
 * parse as an expression (the caller then falls back to string comparison).
 */
export function latexEqual(a: string, b: string, options: LatexEqualOptions): boolean | undefined {
  return scoped(options.engine, () => compareExpressions(a, b, options));
}

function compareExpressions(a: string, b: string, options: LatexEqualOptions): boolean | undefined {
  const pair = parsePair(a, b, options);
  if (!pair) return undefined;
  const [A, B] = pair;
  if (TINY_LITERAL.test(a) || TINY_LITERAL.test(b)) return false;
  if (A.isSame(B)) return true;
  if (tooLargeToEvaluate(A.json) || tooLargeToEvaluate(B.json)) return false;
  const free = [...new Set([...A.freeVariables, ...B.freeVariables])];
  if (free.length === 0) {
    const va = numericValue(A);
    const vb = numericValue(B);
    checkDeadline(options.deadline);
    // Past float range (2^{2000}) both are infinite; that proves nothing.
    if (va && vb) return complexClose(va, vb, options.relTol);
    return A.isEqual(B) === true;
  }
  const samples = sampleBoth(A, B, free, options.deadline);
  const relTol = Math.min(options.relTol, 1e-6);
  return (
    !!samples && samples.length > 0 && samples.every(([va, vb]) => complexClose(va, vb, relTol))
  );
}

/** Whether `a = k·b` for a constant k ≠ 0 (two equations `a = 0`, `b = 0` are then the same). */
export function latexProportional(a: string, b: string, options: LatexEqualOptions): boolean {
  return scoped(options.engine, () => proportionalExpressions(a, b, options));
}

function proportionalExpressions(a: string, b: string, options: LatexEqualOptions): boolean {
  const pair = parsePair(a, b, options);
  if (!pair) return false;
  const [A, B] = pair;
  if (tooLargeToEvaluate(A.json) || tooLargeToEvaluate(B.json)) return false;
  const free = [...new Set([...A.freeVariables, ...B.freeVariables])];
  if (free.length === 0) return false;
  const samples = sampleBoth(A, B, free, options.deadline);
  if (!samples || samples.length === 0) return false;
  const ratios = samples.map(([va, vb]) => {
    const d = vb.re * vb.re + vb.im * vb.im;
    return { re: (va.re * vb.re + va.im * vb.im) / d, im: (va.im * vb.re - va.re * vb.im) / d };
  });
  const k = ratios[0];
  return (
    Math.hypot(k.re, k.im) > 0 &&
    ratios.every((q) => complexClose(q, k, Math.min(options.relTol, 1e-6)))
  );
}
