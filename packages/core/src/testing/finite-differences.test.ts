import { describe, expect, it } from 'vitest';
import { expectClose } from './conformance-compare.js';
import { finiteDifferences, finiteDifferencesAsync, weightedSum } from './finite-differences.js';

// L(x) = Σ sin(xᵢ)·xᵢ₊₁ (cyclic): dL/dxᵢ = cos(xᵢ)·xᵢ₊₁ + sin(xᵢ₋₁), computed independently.
const loss = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.sin(x[i]) * x[(i + 1) % x.length];
  return s;
};
const gradient = (x: Float64Array) =>
  Array.from(
    x,
    (xi, i) => Math.cos(xi) * x[(i + 1) % x.length] + Math.sin(x[(i - 1 + x.length) % x.length]),
  );
const x0 = Float64Array.from([0.3, -1.2, 0.8, 2.1, -0.4]);

describe('finite differences', () => {
  it('match the analytic gradient within O(h²), at every or the chosen coordinates; x is restored', async () => {
    const x = x0.slice();
    const all = finiteDifferences(loss, x, { h: 1e-4 });
    // central differences err by h²/6·|f'''| ≲ 1e-8 here, plus rounding ε·|L|/h ≲ 1e-11
    expectClose('all coordinates', all, gradient(x0), { abs: 1e-8 });
    expect(Array.from(x)).toEqual(Array.from(x0));
    const some = await finiteDifferencesAsync(async (y) => loss(y), x, { indices: [3, 0] });
    expectClose('indices 3, 0', some, [gradient(x0)[3], gradient(x0)[0]], { abs: 1e-8 });
    expect(Array.from(x)).toEqual(Array.from(x0));
  });

  it('weightedSum is Σ w·y and refuses mismatched lengths', () => {
    expect(weightedSum([1, -2, 0.5], [4, 1, 2])).toBe(3);
    expect(() => weightedSum([1], [1, 2])).toThrow('weightedSum: 1 weights, 2 values');
  });
});
