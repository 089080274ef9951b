/**
 * Non-finite weights at load: a NaN or ±Inf in a model file would otherwise surface only as
 * garbage tokens, a NaN entropy or a NaN loss at step 1. Loaders scan each tensor (or chunk)
 * once as they read it and name the first bad value.
 */

/** The index of the first NaN or ±Inf in `values` at or after `from`, or −1. */
export function firstNonFinite(values: Float32Array, from = 0): number {
  for (let i = from; i < values.length; i++) {
    // x − x is 0 for every finite x and NaN for NaN and ±Inf: one subtraction per value
    const x = values[i];
    if (x - x !== 0) return i;
  }
  return -1;
}

/** "is NaN (non-finite weights: …)" — the tail of a message naming the file and tensor. */
export function nonFiniteText(value: number): string {
  const what = Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return `is ${what} (non-finite weights: the model file is damaged or was saved from a diverged run)`;
}
