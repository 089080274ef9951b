/**
 * Central finite differences, the independent check of every backward: (L(x + h·eᵢ) − L(x − h·eᵢ))
 * / 2h at chosen coordinates i. A backward of f applied to dOut is checked against the finite
 * differences of L(x) = Σ dOut ⊙ f(x) (`weightedSum`).
 */

export interface FiniteDifferenceOptions {
  /** coordinates of x to differentiate (default: all) */
  indices?: readonly number[];
  /** step (default 1e-4) */
  h?: number;
}

/**
 * The one implementation of the formula: yields x with coordinate i moved by +h, then −h, and is
 * given L back each time; returns the differences (x is restored after each coordinate).
 */
function* central(
  x: Float64Array,
  opts: FiniteDifferenceOptions,
): Generator<Float64Array, Float64Array, number> {
  const h = opts.h ?? 1e-4;
  const at = opts.indices ?? Array.from({ length: x.length }, (_, i) => i);
  const out = new Float64Array(at.length);
  for (const [k, i] of at.entries()) {
    const xi = x[i];
    x[i] = xi + h;
    const plus = yield x;
    x[i] = xi - h;
    const minus = yield x;
    x[i] = xi;
    out[k] = (plus - minus) / (2 * h);
  }
  return out;
}

/** dL/dx at `opts.indices` of a scalar function of x; x is left as it was. */
export function finiteDifferences(
  loss: (x: Float64Array) => number,
  x: Float64Array,
  opts: FiniteDifferenceOptions = {},
): Float64Array {
  const run = central(x, opts);
  let step = run.next();
  while (!step.done) step = run.next(loss(step.value));
  return step.value;
}

/** The same for a loss computed asynchronously (on a backend); x is left as it was. */
export async function finiteDifferencesAsync(
  loss: (x: Float64Array) => Promise<number>,
  x: Float64Array,
  opts: FiniteDifferenceOptions = {},
): Promise<Float64Array> {
  const run = central(x, opts);
  let step = run.next();
  while (!step.done) step = run.next(await loss(step.value));
  return step.value;
}

/** Σᵢ w[i] · y[i] in f64: the scalar whose gradient w.r.t. y is w. */
export function weightedSum(w: ArrayLike<number>, y: ArrayLike<number>): number {
  if (w.length !== y.length)
    throw new Error(`weightedSum: ${w.length} weights, ${y.length} values`);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}
