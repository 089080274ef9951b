/**
 * File fixtures of the I/O tests: fresh directories under one temporary root that is removed
 * after the test file, and bit-exact comparison of loaded weights.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import type { WeightMap } from '../model/params.js';

/** Call at the top level of a test file: each call of the result is a new, not yet created path. */
export function freshDirs(prefix: string): () => string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return () => path.join(root, `d${count++}`);
}

/** The same names in the same order and the same f32 bits, naming the first difference. */
export function expectSameWeights(actual: WeightMap, expected: WeightMap): void {
  const names = [...actual.keys()].join(', ');
  if (names !== [...expected.keys()].join(', '))
    throw new Error(`weights: names ${names}, expected ${[...expected.keys()].join(', ')}`);
  for (const [name, e] of expected) {
    const a = actual.get(name) as Float32Array;
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ue = new Uint32Array(e.buffer, e.byteOffset, e.length);
    const i = ua.findIndex((v, j) => v !== ue[j]);
    if (a.length !== e.length || i >= 0)
      throw new Error(
        `${name}[${i}]: got ${a[i]}, expected ${e[i]} (lengths ${a.length}, ${e.length})`,
      );
  }
}
