/**
 * A small vectorised reverse-mode autodiff over per-token arrays, so an objective author
 * writes only the forward of a loss built from the vocabulary statistics and gets dL/dstat.
 *
 * A `Var` holds a scalar or a Float64Array vector (length N tokens, or a per-sequence vector
 * of length B). Elementwise ops broadcast a scalar against a vector; two vectors must have
 * the same length. Each op records its parents and how to pull a cotangent back to them;
 * `gradients` walks the graph from the output in reverse topological order. There is no
 * global tape: a graph is just the Vars reachable from the output.
 *
 * Masked positions may hold any value (a pad position's log p(y) can be −∞), so:
 *  - masks are 0/1 Float64Arrays and masked reductions select, never multiply;
 *  - a zero cotangent contributes exactly zero (never 0 · ∞ = NaN) in every backward.
 */

export type Value = number | Float64Array;
/** A constant 0/1 selector over a vector (1 = included). */
export type Mask = Float64Array;

export class Var {
  constructor(
    readonly value: Value,
    /** The inputs this Var was computed from (empty for leaves and constants). */
    readonly parents: readonly Var[] = [],
    /** Cotangent of this Var → cotangent of each parent (same order as `parents`). */
    readonly pullback?: (g: Value) => Value[],
  ) {}

  get isScalar(): boolean {
    return typeof this.value === 'number';
  }

  /** The value as a number; throws for a vector. */
  scalar(): number {
    if (typeof this.value !== 'number') {
      throw new Error(`expected a scalar, got a vector of length ${this.value.length}`);
    }
    return this.value;
  }
}

/** A Var, or a plain number / Float64Array taken as a constant. */
export type Operand = Var | Value;

function lift(x: Operand): Var {
  return x instanceof Var ? x : new Var(x);
}

function lengthOf(v: Value): number | null {
  return typeof v === 'number' ? null : v.length;
}

function broadcastLength(a: Value, b: Value, op: string): number | null {
  const la = lengthOf(a);
  const lb = lengthOf(b);
  if (la !== null && lb !== null && la !== lb) {
    throw new Error(`${op}: vector lengths differ (${la} vs ${lb})`);
  }
  return la ?? lb;
}

function at(v: Value, i: number): number {
  return typeof v === 'number' ? v : v[i];
}

/** Sums a vector cotangent down to a scalar when the operand was a scalar. */
function reduceTo(like: Value, g: Float64Array | number): Value {
  if (typeof like !== 'number' || typeof g === 'number') return g;
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i];
  return s;
}

/** c · x with 0 · anything = 0, the rule that keeps masked infinities out of gradients. */
function times(c: number, x: number): number {
  return c === 0 ? 0 : c * x;
}

function map(len: number | null, f: (i: number) => number): Value {
  if (len === null) return f(0);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = f(i);
  return out;
}

function binary(
  name: string,
  x: Operand,
  y: Operand,
  f: (a: number, b: number) => number,
  /** ∂f/∂a and ∂f/∂b at (a, b, f(a, b)) */
  df: (a: number, b: number, out: number) => [number, number],
): Var {
  const a = lift(x);
  const b = lift(y);
  const len = broadcastLength(a.value, b.value, name);
  const out = map(len, (i) => f(at(a.value, i), at(b.value, i)));
  return new Var(out, [a, b], (g) => {
    const ga = map(len, (i) => times(at(g, i), df(at(a.value, i), at(b.value, i), at(out, i))[0]));
    const gb = map(len, (i) => times(at(g, i), df(at(a.value, i), at(b.value, i), at(out, i))[1]));
    return [reduceTo(a.value, ga), reduceTo(b.value, gb)];
  });
}

function unary(x: Operand, f: (a: number) => number, df: (a: number, out: number) => number): Var {
  const a = lift(x);
  const len = lengthOf(a.value);
  const out = map(len, (i) => f(at(a.value, i)));
  return new Var(out, [a], (g) => [
    map(len, (i) => times(at(g, i), df(at(a.value, i), at(out, i)))),
  ]);
}

function vectorOf(x: Var, op: string): Float64Array {
  if (typeof x.value === 'number') throw new Error(`${op}: expected a vector, got a scalar`);
  return x.value;
}

function checkMask(mask: Mask, length: number, op: string): void {
  if (mask.length !== length) {
    throw new Error(`${op}: mask has length ${mask.length}; expected ${length}`);
  }
}

/** A constant (no gradient flows into it). */
export function constant(x: number | Float64Array): Var {
  return new Var(x);
}

export function add(x: Operand, y: Operand): Var {
  return binary(
    'add',
    x,
    y,
    (a, b) => a + b,
    () => [1, 1],
  );
}

export function sub(x: Operand, y: Operand): Var {
  return binary(
    'sub',
    x,
    y,
    (a, b) => a - b,
    () => [1, -1],
  );
}

export function mul(x: Operand, y: Operand): Var {
  return binary(
    'mul',
    x,
    y,
    (a, b) => a * b,
    (a, b) => [b, a],
  );
}

export function div(x: Operand, y: Operand): Var {
  return binary(
    'div',
    x,
    y,
    (a, b) => a / b,
    (_a, b, out) => [1 / b, -out / b],
  );
}

export function neg(x: Operand): Var {
  return unary(
    x,
    (a) => -a,
    () => -1,
  );
}

export function exp(x: Operand): Var {
  return unary(x, Math.exp, (_a, out) => out);
}

export function log(x: Operand): Var {
  return unary(x, Math.log, (a) => 1 / a);
}

/** The same value, with no gradient flowing back through it. */
export function stopGradient(x: Operand): Var {
  return new Var(lift(x).value);
}

/** Σ of all entries → scalar. */
export function sum(x: Operand): Var {
  const a = lift(x);
  if (typeof a.value === 'number') return a;
  const v = a.value;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return new Var(s, [a], (g) => [new Float64Array(v.length).fill(g as number)]);
}

/** Mean of all entries → scalar. */
export function mean(x: Operand): Var {
  const a = lift(x);
  if (typeof a.value === 'number') return a;
  return div(sum(a), a.value.length);
}

/** Σ over the entries with mask = 1 → scalar (other entries are never read). */
export function maskedSum(x: Operand, mask: Mask): Var {
  const a = lift(x);
  const v = vectorOf(a, 'maskedSum');
  checkMask(mask, v.length, 'maskedSum');
  let s = 0;
  for (let i = 0; i < v.length; i++) if (mask[i] !== 0) s += v[i];
  return new Var(s, [a], (g) => [mask.map((m) => (m !== 0 ? (g as number) : 0))]);
}

/**
 * Mean over the entries with mask = 1 → scalar. An empty mask gives 0 with zero gradient
 * (a batch whose completions are all empty contributes nothing rather than NaN).
 */
export function maskedMean(x: Operand, mask: Mask): Var {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) count++;
  const total = maskedSum(x, mask);
  return count === 0 ? constant(0) : div(total, count);
}

/**
 * Per-sequence sums: out[b] = Σ_{i: seqIds[i] = b, mask[i] = 1} x[i] → vector of length nSeq.
 * Without a mask every entry counts.
 */
export function perSequenceSum(
  x: Operand,
  seqIds: ArrayLike<number>,
  nSeq: number,
  mask?: Mask,
): Var {
  const a = lift(x);
  const v = vectorOf(a, 'perSequenceSum');
  if (seqIds.length !== v.length) {
    throw new Error(`perSequenceSum: seqIds has length ${seqIds.length}; expected ${v.length}`);
  }
  if (mask) checkMask(mask, v.length, 'perSequenceSum');
  const included = (i: number) => mask === undefined || mask[i] !== 0;
  const out = new Float64Array(nSeq);
  for (let i = 0; i < v.length; i++) {
    const b = seqIds[i];
    if (!(b >= 0 && b < nSeq))
      throw new Error(`perSequenceSum: seqIds[${i}] = ${b}; expected [0, ${nSeq})`);
    if (included(i)) out[b] += v[i];
  }
  return new Var(out, [a], (g) => {
    const gv = g as Float64Array;
    const gi = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) if (included(i)) gi[i] = gv[seqIds[i]];
    return [gi];
  });
}

/** cond[i] ≠ 0 ? x[i] : y[i]; the gradient goes only to the selected side. */
export function where(cond: Mask, x: Operand, y: Operand): Var {
  const a = lift(x);
  const b = lift(y);
  const len = broadcastLength(a.value, b.value, 'where') ?? cond.length;
  checkMask(cond, len, 'where');
  const out = map(len, (i) => (cond[i] !== 0 ? at(a.value, i) : at(b.value, i)));
  return new Var(out, [a, b], (g) => {
    const ga = map(len, (i) => (cond[i] !== 0 ? at(g, i) : 0));
    const gb = map(len, (i) => (cond[i] !== 0 ? 0 : at(g, i)));
    return [reduceTo(a.value, ga), reduceTo(b.value, gb)];
  });
}

/** Indices of the masked entries of v, sorted by value ascending (ties by index). */
function sortedMasked(v: Float64Array, mask: Mask): number[] {
  const idx: number[] = [];
  for (let i = 0; i < v.length; i++) if (mask[i] !== 0) idx.push(i);
  return idx.sort((i, j) => v[i] - v[j] || i - j);
}

/**
 * A constant mask of the top-q fraction of the masked entries by value: the ceil(q · n)
 * largest of the n masked entries (ties broken towards the lower index). q ∈ (0, 1].
 */
export function topFractionMask(x: Operand, mask: Mask, q: number): Mask {
  const v = vectorOf(lift(x), 'topFractionMask');
  checkMask(mask, v.length, 'topFractionMask');
  if (!(q > 0 && q <= 1)) throw new Error(`topFractionMask: q = ${q}; expected 0 < q ≤ 1`);
  const order = sortedMasked(v, mask).sort((i, j) => v[j] - v[i] || i - j);
  const keep = Math.ceil(q * order.length - 1e-9);
  const out = new Float64Array(v.length);
  for (let k = 0; k < keep; k++) out[order[k]] = 1;
  return out;
}

/**
 * The q-quantile of the masked entries → scalar, interpolating linearly between order
 * statistics (numpy's default): position q · (n − 1) in the ascending order. The gradient
 * flows to the one or two entries it interpolates. q ∈ [0, 1].
 */
export function quantile(x: Operand, mask: Mask, q: number): Var {
  const a = lift(x);
  const v = vectorOf(a, 'quantile');
  checkMask(mask, v.length, 'quantile');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q = ${q}; expected 0 ≤ q ≤ 1`);
  const order = sortedMasked(v, mask);
  if (order.length === 0) throw new Error('quantile: the mask selects no entries');
  const pos = q * (order.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, order.length - 1);
  const w = pos - lo;
  const value = (1 - w) * v[order[lo]] + w * v[order[hi]];
  return new Var(value, [a], (g) => {
    const gi = new Float64Array(v.length);
    gi[order[lo]] += (1 - w) * (g as number);
    gi[order[hi]] += w * (g as number);
    return [gi];
  });
}

function accumulate(into: Map<Var, Value>, v: Var, g: Value): void {
  const prev = into.get(v);
  if (prev === undefined) {
    into.set(v, typeof g === 'number' ? g : g.slice());
    return;
  }
  if (typeof prev === 'number') {
    into.set(v, prev + (g as number));
    return;
  }
  const gv = g as Float64Array;
  for (let i = 0; i < prev.length; i++) prev[i] += gv[i];
}

/**
 * d output / d input for each of `inputs` (output must be a scalar); an input the output
 * does not depend on gets zeros of its shape.
 */
export function gradients(output: Var, inputs: readonly Var[]): Value[] {
  output.scalar();
  const order: Var[] = [];
  const seen = new Set<Var>();
  // Iterative post-order DFS: graphs stay small, but recursion depth should not matter.
  const stack: [Var, number][] = [[output, 0]];
  seen.add(output);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [v, k] = top;
    if (k < v.parents.length) {
      top[1]++;
      const p = v.parents[k];
      if (!seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      order.push(v);
      stack.pop();
    }
  }
  const grads = new Map<Var, Value>([[output, 1]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    const g = grads.get(v);
    if (g === undefined || !v.pullback) continue;
    const pg = v.pullback(g);
    for (let k = 0; k < v.parents.length; k++) accumulate(grads, v.parents[k], pg[k]);
  }
  return inputs.map((x) => {
    const g = grads.get(x);
    if (g !== undefined) return g;
    return typeof x.value === 'number' ? 0 : new Float64Array(x.value.length);
  });
}

/** The ops, as one object for an objective's context. */
export const ops = {
  constant,
  add,
  sub,
  mul,
  div,
  neg,
  exp,
  log,
  stopGradient,
  sum,
  mean,
  maskedSum,
  maskedMean,
  perSequenceSum,
  where,
  topFractionMask,
  quantile,
};
export type Ops = typeof ops;
