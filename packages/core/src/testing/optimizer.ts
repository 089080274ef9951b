import { expect } from 'vitest';
import type { AdamWParams, SgdParams } from '../backend/tensor-ops.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import type { OptimizerConfig } from '../train/optimizer.js';

/**
 * The optimizer tests' hyper-parameters: torch's AdamW defaults with a large lr (so an update
 * is far above f32 rounding) and a grad scale ≠ 1 (so a backend that ignores it fails).
 */
export function testAdamwParams(step: number): AdamWParams {
  return { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, gradScale: 0.5, step };
}

export const TEST_SGD_PARAMS: SgdParams = { lr: 0.1, weightDecay: 0.01, gradScale: 0.5 };

/** The trainer's optimizer settings in tests: torch's AdamW defaults, lr 1e-2, weight decay 0.01. */
export function testOptimizerConfig(
  kind: OptimizerConfig['kind'],
  overrides: Partial<Omit<OptimizerConfig, 'kind'>> = {},
): OptimizerConfig {
  return { kind, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...overrides };
}

export interface AdamwState {
  p: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/**
 * One AdamW step of core's CPU reference at f32 (torch.optim.AdamW semantics) on copies of
 * the state: the oracle of every optimizer implementation (device kernels, host pool, SIMD).
 */
export async function referenceAdamwStep(
  state: AdamwState,
  grad: Float32Array,
  params: AdamWParams,
): Promise<AdamwState> {
  const ref = createReferenceBackend({ precision: 'f32' });
  const shape = [grad.length];
  const [p, m, v] = [state.p, state.m, state.v].map((a) => ref.upload(a, shape));
  ref.adamwUpdate(p, ref.upload(grad, shape), m, v, params);
  const [rp, rm, rv] = (await Promise.all([p, m, v].map((t) => ref.read(t)))) as Float32Array[];
  return { p: rp, m: rm, v: rv };
}

/** One SGD step of the reference at f32 on a copy of param. */
export async function referenceSgdStep(
  param: Float32Array,
  grad: Float32Array,
  params: SgdParams,
): Promise<Float32Array> {
  const ref = createReferenceBackend({ precision: 'f32' });
  const p = ref.upload(param, [param.length]);
  ref.sgdUpdate(p, ref.upload(grad, [grad.length]), params);
  return (await ref.read(p)) as Float32Array;
}

/**
 * Asserts the host optimizer's pooled AdamW against core's reference (train/host-optimizer/simd.ts): m and v
 * bit-for-bit; p within ulp(p) + 8 f32 roundings of the step's update u = p − pBefore, per step
 * taken: the SIMD kernel forms u in f32 (sqrt and divisions, ≤ 6 roundings) where the reference
 * uses f64, so the two f64 values of p·(1−lr·wd) − u differ by ≤ |u|·6·2⁻²⁴ before the rounding
 * to f32, which may then fall on either side (one ulp of p).
 */
export function expectAdamwClose(
  label: string,
  got: AdamwState,
  want: AdamwState,
  pBefore: Float32Array,
  steps = 1,
): void {
  for (const k of ['m', 'v'] as const) {
    const first = want[k].findIndex((x, i) => !Object.is(x, got[k][i]));
    expect(first, `${label}: ${k}[${first}] got ${got[k][first]}, want ${want[k][first]}`).toBe(-1);
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.p.length; i++) {
    const u = Math.abs(want.p[i] - pBefore[i]);
    const tol = steps * (2 ** -23 * Math.abs(want.p[i]) + 2 ** -21 * u) + 1e-38;
    const r = Math.abs(got.p[i] - want.p[i]) / tol;
    if (!(r <= worst)) [worst, at] = [r, i];
  }
  expect(
    worst,
    `${label}: p[${at}] got ${got.p[at]}, want ${want.p[at]} (from ${pBefore[at]}): ${worst.toFixed(2)}× the bound`,
  ).toBeLessThanOrEqual(1);
}
