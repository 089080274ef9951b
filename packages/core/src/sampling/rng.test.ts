import { describe, expect, it } from 'vitest';
import { philox4x32, uniformAt, uniforms } from './rng.js';

/** 64-bit products in BigInt: an independent check of the 32-bit arithmetic. */
function philoxBig(c: number[], k: number[]): number[] {
  const M = [0xd2511f53n, 0xcd9e8d57n];
  const W = [0x9e3779b9n, 0xbb67ae85n];
  let x = c.map(BigInt);
  let key = k.map(BigInt);
  const mask = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = M[0] * x[0];
    const p1 = M[1] * x[2];
    x = [
      ((p1 >> 32n) ^ x[1] ^ key[0]) & mask,
      p1 & mask,
      ((p0 >> 32n) ^ x[3] ^ key[1]) & mask,
      p0 & mask,
    ];
    key = [(key[0] + W[0]) & mask, (key[1] + W[1]) & mask];
  }
  return x.map(Number);
}

describe('philox4x32', () => {
  it('matches the published known-answer vectors (Random123 kat_vectors)', () => {
    expect(philox4x32(0, 0, 0, 0, 0, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(
      philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
    ).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  });

  it('agrees with a BigInt implementation on random inputs', () => {
    for (let i = 0; i < 50; i++) {
      const c = [i * 2654435761, i * 40503, 7 * i + 3, 0xdeadbeef ^ i].map((v) => v >>> 0);
      const k = [(i * 97) >>> 0, (i * 0x9e3779b9) >>> 0];
      expect(philox4x32(c[0], c[1], c[2], c[3], k[0], k[1])).toEqual(philoxBig(c, k));
    }
  });

  it('uniforms lie in [0, 1), are deterministic and look uniform', () => {
    const u = uniforms(42, 1, 0, 20000);
    expect(uniformAt(42, 1, 123)).toBe(u[123]);
    let mean = 0;
    for (const x of u) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      mean += x / u.length;
    }
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(uniformAt(43, 1, 123)).not.toBe(u[123]);
  });
});
