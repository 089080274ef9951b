// Grading: is a model's answer mathematically the reference? In the harness's order —
// string equality after normalisation, multiple-choice letters, numbers with a relative
// tolerance (percent-aware), then structure (tuples, intervals, unordered answer lists,
// matrices) with symbolic equality of the parts through the compute engine, all under a
// per-item time limit.

import type { ComputeEngine } from '@cortex-js/compute-engine';
import { type AnswerShape, answerShape, splitTopLevel } from './answer-shape.js';
import {
  checkDeadline,
  createMathEngine,
  type Deadline,
  GradeTimeoutError,
  latexEqual,
  latexProportional,
} from './latex-equal.js';
import { normalizeAnswer } from './normalize.js';
import { numbersClose, parseNumber } from './numbers.js';

export type GradeReason =
  | 'empty'
  | 'string'
  | 'choice'
  | 'number'
  | 'structure'
  | 'equation'
  | 'symbolic'
  | 'text'
  | 'timeout'
  /** The maths library failed on this input; counted as wrong. */
  | 'error';

export interface GradeResult {
  correct: boolean;
  /** Which rule decided; for a wrong answer, the rule that rejected it. */
  reason: GradeReason;
}

export interface GradeOptions {
  /** Per-item time limit; past it the answer counts as wrong. Default 5000 ms. */
  timeLimitMs?: number;
  /** Relative tolerance of numeric comparison. Default 1e-4. */
  relTol?: number;
}

interface Context {
  deadline: Deadline;
  relTol: number;
  percent: boolean;
  /** Created on the first symbolic comparison; plain numbers never need it. */
  engine?: ComputeEngine;
}

function mathOptions(ctx: Context, relTol: number) {
  ctx.engine ??= createMathEngine();
  return { relTol, deadline: ctx.deadline, engine: ctx.engine };
}

const CHOICE = /^\(?([A-E])\)?$/;
const CHOICE_PREFIX = /^\(([A-E])\)|^([A-E])(?:[.:)]|$)/;
const TEXT_ONLY = /^\s*\\(?:text|textbf|mbox)\{[^{}]*\}\s*$/;

/** A lone top-level `=` (not part of `\le`, `\ne`, `==`…): [left, right], else undefined. */
function splitEquation(s: string): [string, string] | undefined {
  const parts = splitTopLevel(s, '=');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return [parts[0], parts[1]];
}

/** Left sides that name the answer rather than constrain it: y, f(x), M, m_{max}, N(n). */
const NAME = /^(?:\\?[a-zA-Z]+(?:_\{?[a-zA-Z0-9]+\}?)?(?:\([a-z]\))?|\\angle[A-Z0-9_{}]+)$/;

const INTEGER = /^-?\d+$/;

/**
 * Numbers within the relative tolerance (it absorbs rounding of decimals), ×100 or ÷100 when a
 * percent sign is involved. Two integers must be equal: 13536 is not 13535, however large.
 */
function numbersEqual(a: string, b: string, ctx: Context): boolean {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x === undefined || y === undefined) return false;
  if (!ctx.percent && INTEGER.test(a.replace(/,/g, '')) && INTEGER.test(b.replace(/,/g, '')))
    return x === y;
  return (
    numbersClose(x, y, ctx.relTol) ||
    (ctx.percent && [y * 100, y / 100].some((t) => numbersClose(x, t, ctx.relTol)))
  );
}

function scalarEqual(a: string, b: string, ctx: Context): boolean {
  checkDeadline(ctx.deadline);
  if (a.toLowerCase() === b.toLowerCase()) return true;
  const na = parseNumber(a);
  const nb = parseNumber(b);
  if (na !== undefined && nb !== undefined) return numbersEqual(a, b, ctx);
  const ea = splitEquation(a);
  const eb = splitEquation(b);
  if (ea && eb) {
    const sides = (ea: [string, string], eb: [string, string]) =>
      scalarEqual(ea[0], eb[0], ctx) && scalarEqual(ea[1], eb[1], ctx);
    return (
      sides(ea, eb) ||
      latexProportional(
        `(${ea[0]})-(${ea[1]})`,
        `(${eb[0]})-(${eb[1]})`,
        mathOptions(ctx, ctx.relTol),
      )
    );
  }
  if (ea && NAME.test(ea[0])) return scalarEqual(ea[1], b, ctx);
  if (eb && NAME.test(eb[0])) return scalarEqual(a, eb[1], ctx);
  const relTol = na !== undefined || nb !== undefined ? ctx.relTol : Math.min(ctx.relTol, 1e-6);
  return latexEqual(a, b, mathOptions(ctx, relTol)) === true;
}

function sameCollection(as: string[], bs: string[], ctx: Context): boolean {
  return matchOneToOne(as.map(answerShape), bs.map(answerShape), ctx);
}

/** One-to-one matching of unordered items (augmenting paths; lists are short). */
function matchOneToOne(as: AnswerShape[], bs: AnswerShape[], ctx: Context): boolean {
  if (as.length !== bs.length) return false;
  const equal = as.map((a) => bs.map((b) => shapeEqual(a, b, ctx)));
  const owner = new Array<number>(bs.length).fill(-1);
  const assign = (i: number, seen: boolean[]): boolean => {
    for (let j = 0; j < bs.length; j++) {
      if (!equal[i][j] || seen[j]) continue;
      seen[j] = true;
      if (owner[j] < 0 || assign(owner[j], seen)) {
        owner[j] = i;
        return true;
      }
    }
    return false;
  };
  return as.every((_, i) => assign(i, new Array<boolean>(bs.length).fill(false)));
}

function sameSequence(as: string[], bs: string[], ctx: Context): boolean {
  return (
    as.length === bs.length &&
    as.every((a, i) => shapeEqual(answerShape(a), answerShape(bs[i]), ctx))
  );
}

function shapeEqual(a: AnswerShape, b: AnswerShape, ctx: Context): boolean {
  if (a.kind === 'scalar' && b.kind === 'scalar') return scalarEqual(a.value, b.value, ctx);
  if (a.kind === 'bracketed' && b.kind === 'bracketed') {
    return a.open === b.open && a.close === b.close && sameSequence(a.items, b.items, ctx);
  }
  if (a.kind === 'collection' && b.kind === 'collection')
    return sameCollection(a.items, b.items, ctx);
  // "1, -2" answered as "(1, -2)": the harness accepts the parenthesised list.
  if (a.kind === 'bracketed' && b.kind === 'collection' && !b.explicitSet && a.open === '(') {
    return sameCollection(a.items, b.items, ctx);
  }
  // "a=3, b=4" for the pair (3,4): the items in order.
  if (a.kind === 'collection' && !a.explicitSet && b.kind === 'bracketed' && b.open === '(') {
    return sameSequence(a.items, b.items, ctx);
  }
  if (a.kind === 'union' && b.kind === 'union') return matchOneToOne(a.parts, b.parts, ctx);
  if (a.kind === 'matrix' && b.kind === 'matrix') {
    return (
      a.rows.length === b.rows.length && a.rows.every((row, i) => sameSequence(row, b.rows[i], ctx))
    );
  }
  // A column vector written as a tuple.
  if (a.kind === 'matrix' && b.kind === 'bracketed' && a.rows.every((r) => r.length === 1)) {
    return sameSequence(
      a.rows.map((r) => r[0]),
      b.items,
      ctx,
    );
  }
  if (a.kind === 'bracketed' && b.kind === 'matrix') return shapeEqual(b, a, ctx);
  return false;
}

function choiceLetter(s: string): string | undefined {
  const m = CHOICE_PREFIX.exec(s.trim());
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Grade one `answer` (already extracted from the output) against its `reference`. */
export function grade(answer: string, reference: string, options: GradeOptions = {}): GradeResult {
  const limitMs = options.timeLimitMs ?? 5000;
  const ctx: Context = {
    deadline: { limitMs, at: performance.now() + limitMs },
    relTol: options.relTol ?? 1e-4,
    percent: /%|percent/i.test(answer) || /%|percent/i.test(reference),
  };
  const a = normalizeAnswer(answer);
  const r = normalizeAnswer(reference);
  if (a === '') return { correct: false, reason: 'empty' };
  if (a.toLowerCase() === r.toLowerCase()) return { correct: true, reason: 'string' };
  const choice = CHOICE.exec(r);
  if (choice) {
    const correct = choiceLetter(a) === choice[1];
    return { correct, reason: 'choice' };
  }
  if (TEXT_ONLY.test(reference)) return { correct: false, reason: 'text' };
  const na = parseNumber(a);
  const nb = parseNumber(r);
  if (na !== undefined && nb !== undefined)
    return { correct: numbersEqual(a, r, ctx), reason: 'number' };
  try {
    const sa = answerShape(a);
    const sr = answerShape(r);
    const structured = sa.kind !== 'scalar' || sr.kind !== 'scalar';
    const correct = shapeEqual(sa, sr, ctx);
    if (structured) return { correct, reason: 'structure' };
    if (splitEquation(a) || splitEquation(r)) return { correct, reason: 'equation' };
    return { correct, reason: 'symbolic' };
  } catch (error) {
    if (error instanceof GradeTimeoutError) return { correct: false, reason: 'timeout' };
    return { correct: false, reason: 'error' };
  }
}
