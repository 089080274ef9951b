import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AdamwState,
  expectAdamwClose,
  referenceAdamwStep,
  referenceSgdStep,
  TEST_SGD_PARAMS as sgd,
  testAdamwParams as hyper,
} from '../../testing/optimizer.js';
import { randomFloats } from '../../testing/random.js';
import { adamwInPlace, sgdInPlace } from './in-place.js';
import { HostOptimizer } from './pool.js';

const zeroState = (p: Float32Array): AdamwState => ({
  p,
  m: new Float32Array(p.length),
  v: new Float32Array(p.length),
});

/** Bit-for-bit equality; on failure names the first differing index and both values. */
/** The kernels' Σ p² against a plain f64 sum of the stored parameters (the addition order differs). */
function expectSumSquares(label: string, sum: number, p: Float32Array): void {
  let want = 0;
  for (const x of p) want += x * x;
  expect(Math.abs(sum - want), `${label}: Σ p² ${sum} vs ${want}`).toBeLessThanOrEqual(
    1e-12 * want,
  );
}

function expectBitEqual(label: string, got: Float32Array, want: Float32Array): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]))
      throw new Error(`${label}: [${i}] got ${got[i]}, want ${want[i]} (of ${want.length})`);
  }
}

describe('host optimizer kernels (in place, against the CPU reference)', () => {
  it('adamwInPlace is bit-for-bit core reference AdamW over 3 steps; it updates its arrays', async () => {
    for (const n of [0, 1, 7, 1000]) {
      const p = randomFloats(n, 1);
      const grads = [2, 3, 4].map((s) => randomFloats(n, s));
      let want = zeroState(p);
      for (const [s, g] of grads.entries()) want = await referenceAdamwStep(want, g, hyper(s + 1));
      const [pp, m, v] = [p.slice(), new Float32Array(n), new Float32Array(n)];
      grads.forEach((g, s) => {
        adamwInPlace(pp, g, m, v, hyper(s + 1));
      });
      expectBitEqual(`p (n ${n})`, pp, want.p);
      expectBitEqual(`m (n ${n})`, m, want.m);
      expectBitEqual(`v (n ${n})`, v, want.v);
    }
  });

  it('sgdInPlace is bit-for-bit core reference SGD', async () => {
    const p = randomFloats(513, 5);
    const g = randomFloats(513, 6);
    const want = await referenceSgdStep(p, g, sgd);
    const pp = p.slice();
    const sum = sgdInPlace(pp, g, sgd);
    expectBitEqual('p', pp, want);
    expectSumSquares('sgd', sum, pp);
  });
});

describe('HostOptimizer (worker pool)', () => {
  // 3 threads = the main thread + 2 workers; small chunks so shard boundaries are exercised.
  const opt = new HostOptimizer({ threads: 3, chunk: 1000, inlineMax: 100 });
  afterAll(() => opt.destroy());

  it('matches the reference across worker chunks (m, v bit-for-bit, p within its bound) and inline (bit-for-bit); no new arrays after the first step', async () => {
    for (const n of [0, 1, 100, 101, 999, 2999, 3001, 10_007]) {
      const param = randomFloats(n, 10 + n);
      let reference = zeroState(param);
      let m: Float32Array = new Float32Array(n);
      let v: Float32Array = new Float32Array(n);
      for (let s = 0; s < 3; s++) {
        const g = randomFloats(n, 20 + n + s);
        // the reference steps from our p (so p's bound is per step), with its own m and v
        const before = param.slice();
        reference = await referenceAdamwStep({ ...reference, p: before }, g, hyper(s + 1));
        const [np, nm, nv, sum] = opt.adamw(param, g, m, v, hyper(s + 1));
        expect(np, `n ${n}: param updated in place`).toBe(param);
        // the kernels' Σ p² of the stored parameters: only the order of f64 additions differs
        expectSumSquares(`n ${n} step ${s + 1}`, sum, param);
        if (s > 0) {
          expect(nm, `n ${n} step ${s + 1}: m in place`).toBe(m);
          expect(nv, `n ${n} step ${s + 1}: v in place`).toBe(v);
        }
        if (n > 100)
          expect(nm.buffer, `n ${n}: pooled m is shared`).toBeInstanceOf(SharedArrayBuffer);
        [m, v] = [nm, nv];
        const label = `n ${n} step ${s + 1}`;
        if (n <= 100) {
          expectBitEqual(`${label} p`, param, reference.p);
          expectBitEqual(`${label} m`, m, reference.m);
          expectBitEqual(`${label} v`, v, reference.v);
        } else expectAdamwClose(label, { p: param, m, v }, reference, before);
      }
    }
    expect(opt.workerCount()).toBe(2);
  });

  it('Σ p² is not finite when one updated parameter is not: inline, on a worker, on the main thread', () => {
    for (const n of [50, 10_007]) {
      for (const at of [0, Math.floor(n / 2), n - 1]) {
        const param = randomFloats(n, 7);
        const g = randomFloats(n, 8);
        g[at] = Number.NaN;
        const [, , , sum] = opt.adamw(param, g, new Float32Array(n), new Float32Array(n), hyper(1));
        expect(Number.isNaN(sum), `n ${n}, NaN gradient at ${at}: Σ p² ${sum}`).toBe(true);
        const big = randomFloats(n, 9);
        big[at] = 3e38; // finite, but p·(1−lr·wd) − u stays ~3e38: Σ p² is finite in f64
        const [, , , s2] = opt.adamw(
          big,
          randomFloats(n, 10),
          new Float32Array(n),
          new Float32Array(n),
          hyper(1),
        );
        expect(s2).toBeGreaterThan(8e76);
      }
    }
  });

  it('default chunking: a tensor of about one chunk is split over every thread and still matches', async () => {
    const o = new HostOptimizer({ threads: 3 });
    const n = 150_001; // pieces of 12,504: the main thread and both workers take some
    const [param, g] = [randomFloats(n, 5), randomFloats(n, 6)];
    const before = param.slice();
    const want = await referenceAdamwStep(zeroState(before), g, hyper(1));
    const [p, m, v] = o.adamw(param, g, new Float32Array(n), new Float32Array(n), hyper(1));
    expectAdamwClose('default chunking', { p, m, v }, want, before);
    expect(o.workerCount()).toBe(2);
    await o.destroy();
  });

  it('threads 1: the SIMD kernel on the main thread alone, no workers, same results', async () => {
    const one = new HostOptimizer({ threads: 1, chunk: 1000, inlineMax: 100 });
    const n = 2501;
    const [param, g] = [randomFloats(n, 1), randomFloats(n, 2)];
    const before = param.slice();
    const want = await referenceAdamwStep(zeroState(before), g, hyper(1));
    const [p, m, v, sum] = one.adamw(param, g, new Float32Array(n), new Float32Array(n), hyper(1));
    expectAdamwClose('threads 1', { p, m, v }, want, before);
    expectSumSquares('threads 1', sum, p);
    expect(one.workerCount()).toBe(0);
    await one.destroy();
  });

  it('tiny tensors never start workers; destroy ends them and a later update starts anew', async () => {
    const o = new HostOptimizer({ threads: 2, inlineMax: 64 });
    const [p, g] = [randomFloats(64, 1), randomFloats(64, 2)];
    o.adamw(p, g, new Float32Array(64), new Float32Array(64), hyper(1));
    expect(o.workerCount()).toBe(0);
    const big = randomFloats(65, 3);
    o.adamw(big, randomFloats(65, 4), new Float32Array(65), new Float32Array(65), hyper(1));
    expect(o.workerCount()).toBe(1);
    await o.destroy();
    expect(o.workerCount()).toBe(0);
    o.adamw(big, randomFloats(65, 4), new Float32Array(65), new Float32Array(65), hyper(2));
    expect(o.workerCount()).toBe(1);
    await o.destroy();
  });

  it('bad operands and options are errors naming them', () => {
    const a = new Float32Array(4);
    expect(() => opt.adamw(a, new Float32Array(3), a.slice(), a.slice(), hyper(1))).toThrow(
      /3 \(grad\).*expected equal lengths/,
    );
    expect(() => new HostOptimizer({ threads: 0 })).toThrow(/threads = 0; expected an integer ≥ 1/);
    expect(() => new HostOptimizer({ chunk: 6 })).toThrow(/chunk = 6; expected a multiple of 4/);
  });

  it('a process that used the pool exits after destroy (and without it: idle workers are unref’d)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'host-optimizer-'));
    try {
      const script = join(dir, 'exit.mts');
      const pool = join(import.meta.dirname, 'pool.ts');
      writeFileSync(
        script,
        `import { HostOptimizer } from ${JSON.stringify(pool)};
const o = new HostOptimizer({ threads: 2, inlineMax: 0 });
const n = 1 << 18;
o.adamw(new Float32Array(n), new Float32Array(n).fill(1), new Float32Array(n), new Float32Array(n), { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradScale: 1, step: 1 });
if (o.workerCount() !== 1) throw new Error('no worker started');
if (process.argv[2] === 'destroy') await o.destroy();
console.log('done ' + String(o.workerCount()));
`,
      );
      for (const mode of ['destroy', 'leave']) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', script, mode], {
          encoding: 'utf8',
          timeout: 60_000,
          cwd: import.meta.dirname,
        });
        expect(r.error, `${mode}: the process exits`).toBeUndefined();
        expect(r.status, `${mode}: ${r.stderr}`).toBe(0);
        expect(r.stdout.trim()).toBe(mode === 'destroy' ? 'done 0' : 'done 1');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
