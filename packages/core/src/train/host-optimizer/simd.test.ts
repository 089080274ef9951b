import { describe, expect, it } from 'vitest';
import { expectAdamwClose, referenceAdamwStep } from '../../testing/optimizer.js';
import { randomFloats } from '../../testing/random.js';
import { AdamwSimd, adamwSimdScalars, simdAvailable } from './simd.js';

describe('AdamW WebAssembly SIMD kernel', () => {
  it('validates on this runtime (Node 20 has WebAssembly SIMD)', () => {
    expect(simdAvailable()).toBe(true);
  });

  it('matches the reference for every tail length (n mod 4) and at lr 2e-5 and 1e-2', async () => {
    const k = new AdamwSimd(64, 2);
    for (const lr of [2e-5, 1e-2])
      for (let n = 0; n <= 64; n += n < 12 ? 1 : 13) {
        const hp = {
          lr,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          gradScale: 0.7,
          step: 2,
        };
        const [p, g] = [randomFloats(n, n + 1), randomFloats(n, n + 2)];
        const m = randomFloats(n, n + 3, 0.1);
        const v = Float32Array.from(randomFloats(n, n + 4, 0.1), (x) => x * x);
        const want = await referenceAdamwStep({ p, m, v }, g, hp);
        // slot 1: offsets other than 0
        [p, g, m, v].forEach((a, i) => {
          k.heap.set(a, k.region(1, i));
        });
        const sum = k.update(1, n, adamwSimdScalars(hp), hp);
        const out = [0, 2, 3].map((i) => k.heap.slice(k.region(1, i), k.region(1, i) + n));
        expectAdamwClose(`lr ${lr} n ${n}`, { p: out[0], m: out[1], v: out[2] }, want, p);
        // Σ p² of what was stored, in f64 (the kernel adds lanes 0+2 and 1+3 first)
        let want2 = 0;
        for (const x of out[0]) want2 += x * x;
        expect(Math.abs(sum - want2), `lr ${lr} n ${n}: Σ p²`).toBeLessThanOrEqual(1e-12 * want2);
      }
  });

  it('rejects a chunk that breaks 16-byte alignment', () => {
    expect(() => new AdamwSimd(6, 1)).toThrow(/chunk 6 is not a multiple of 4/);
  });
});
