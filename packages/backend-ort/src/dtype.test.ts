/**
 * `--dtype f16` on ORT: matmul weights and embedding tables are fed as an f16 compute copy and
 * widened to f32 in the graph; master weights and optimizer state stay f32 on the host.
 *
 * Tolerances are in units of f16's unit roundoff u = 2⁻¹¹ (11 significant bits), since rounding a
 * weight is the only new error (products and sums stay f32), with the same reasoning and bounds
 * as backend-dawn's dtype tests:
 * - conformance: a primitive's error ≤ u·Σ|a||b| ≲ 8u on the suite's operands (abs 8u, rel u),
 *   whole-model logits max abs 32u, parameter gradients per tensor max |Δ| / max |want| ≤ 16u;
 *   decoding token for token against the reference holding the rounded weights;
 * - EM step vs the f32 step on ORT: loss and global norm 4u, gradients 32u per tensor, weights
 *   after one SGD / AdamW step from each side's own gradients as derived below.
 */
import {
  buildBatch,
  builtinObjective,
  createOptimizerState,
  f16ToF32,
  globalGradNorm,
  lossAndGrads,
  type ModelConfig,
  optimizerUpdate,
  paramSpecs,
  parseObjectiveParams,
  uploadWeights,
} from '@oneshot-em/core';
import {
  describeBackendConformance,
  expectClose,
  randomWeights,
  stories260K,
  TINY_QWEN2,
} from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { parseDevice } from './device.js';
import { resolveWeightDtype } from './ops/convert/convert.js';
import { createOrtBackend } from './ort-backend.js';
import { testDevice } from './testing/device.js';

const u = 2 ** -11;

/**
 * Round to the nearest f16 (ties to even), by arithmetic on doubles — independent of the bit
 * manipulation the backend uses (core's f32ToF16Into). Subnormals share 2⁻¹⁴'s spacing 2⁻²⁴.
 */
function roundF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, -14) - 10);
  const m = a / q; // exact: q is a power of two
  const f = Math.floor(m);
  const r = m - f > 0.5 || (m - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  const y = r * q;
  return Math.sign(x) * (y > 65504 ? Number.POSITIVE_INFINITY : y);
}

const roundMatrices = (_name: string, shape: readonly number[], values: Float32Array) =>
  shape.length < 2 ? values : Float32Array.from(values, roundF16);

describeBackendConformance(
  `ort(${testDevice()}) --dtype f16`,
  () => createOrtBackend({ device: testDevice(), dtype: 'f16' }),
  {
    tolerances: {
      primitive: { abs: 8 * u, rel: u },
      backward: { abs: 8 * u, rel: u },
      finiteDifference: { abs: 8 * u, rel: 1e-3 + u },
      logitsMaxAbs: 32 * u,
      gradientRel: 16 * u,
    },
    computeWeights: roundMatrices,
  },
);

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** f32 bytes of the parameters fed through a compute copy (matrices: projections, tables). */
function matrixBytes(config: ModelConfig): number {
  return paramSpecs(config)
    .filter((s) => s.shape.length >= 2)
    .reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
}

describe('ort --dtype f16: EM step vs the f32 step', () => {
  const objective = builtinObjective('token-entropy');
  if (!objective) throw new Error('token-entropy is not a built-in objective');
  const resolved = { objective, params: parseObjectiveParams(objective, {}), origin: 'builtin' };
  const models = [
    { label: 'tiny qwen2', config: TINY_QWEN2, weights: randomWeights(TINY_QWEN2, 23) },
    { label: 'stories260K', ...stories260K() },
  ];
  for (const model of models) {
    it(`${model.label}: loss, gradients, norm, updated weights, compute copy, bytes up`, async () => {
      const f32 = await createOrtBackend({ device: testDevice() });
      const low = await createOrtBackend({ device: testDevice(), dtype: 'f16' });
      try {
        expect(low.weightDtype).toBe('f16');
        expect(f32.weightDtype).toBe('f32');
        const { config } = model;
        const eos = config.eosTokenIds;
        const batch = buildBatch(
          [
            [1, 14, 15, 16, 17],
            [1, 30],
          ],
          [
            [21, 22, 23, eos[0]],
            [40, 41, 42, 43, 44, 45],
          ],
          config.padTokenId ?? eos[0],
        );
        const wl = uploadWeights(low, config, model.weights);
        const wf = uploadWeights(f32, config, model.weights);
        const [upLow, upF32] = [low.transfers().bytesUp, f32.transfers().bytesUp];
        const got = await lossAndGrads(low, config, wl, batch, resolved, eos);
        const want = await lossAndGrads(f32, config, wf, batch, resolved, eos);
        // the matrices cross as f16: half their f32 bytes saved in every run that feeds them
        const saved = f32.transfers().bytesUp - upF32 - (low.transfers().bytesUp - upLow);
        expect(saved).toBeGreaterThanOrEqual(matrixBytes(config) / 2);
        expect(low.runs()).toBe(f32.runs());

        expectClose(`loss`, [got.loss], [want.loss], { abs: 0, rel: 4 * u });
        const worst: string[] = [];
        for (const [name, g] of want.grads) {
          const gl = got.grads.get(name);
          if (!gl) throw new Error(`no gradient for ${name}`);
          const rel = relativeError(await low.read(gl), await f32.read(g));
          if (!(rel <= 32 * u)) worst.push(`${name}: ${rel / u} u`);
        }
        expect(worst).toEqual([]);
        const nl = await globalGradNorm(low, got.grads);
        const nf = await globalGradNorm(f32, want.grads);
        expectClose('global gradient norm', [nl], [nf], { abs: 0, rel: 4 * u });

        // one update each from its own gradients: SGD moves w by lr·g, so the weights differ by
        // lr·|Δg| ≤ lr·32u·max|g|; AdamW's first step is lr·g/(|g| + eps) ≈ ±lr, so an element
        // differs by at most 2·lr (where a tiny gradient flips sign)
        for (const kind of ['sgd', 'adamw'] as const) {
          const lr = 1e-2;
          const cfg = { kind, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
          optimizerUpdate(low, wl, got.grads, createOptimizerState(low, config, kind), cfg, 1);
          optimizerUpdate(f32, wf, want.grads, createOptimizerState(f32, config, kind), cfg, 1);
          for (const [name, p] of wf) {
            const pl = wl.get(name);
            if (!pl) throw new Error(`no parameter ${name}`);
            const a = await low.read(pl);
            const b = await f32.read(p);
            const g = await f32.read(want.grads.get(name) ?? p);
            let gmax = 0;
            for (const x of g) gmax = Math.max(gmax, Math.abs(x));
            const bound = kind === 'sgd' ? lr * 32 * u * gmax : lr * 32 * u * gmax + 2 * lr;
            expectClose(`${kind} ${name}`, a, b, { abs: bound * 1.0001 + 1e-7, rel: 0 });
            // the compute copy follows the updated f32 master (an independent rounding of it)
            const copy = await low.readComputeCopy(pl);
            if (pl.shape.length < 2) expect(copy).toBeUndefined();
            else {
              expect(copy).toBeDefined();
              expect(Array.from(f16ToF32(copy as Uint16Array))).toEqual(Array.from(a, roundF16));
            }
          }
        }
      } finally {
        await low.destroy();
        await f32.destroy();
      }
    });
  }
});

describe('ort --dtype: resolution and refusals', () => {
  const cpu = parseDevice('cpu');
  const cuda = parseDevice('cuda');

  it('auto: f16 on CUDA for an f16 base, f32 otherwise (CPU; bf16 or f32 base)', () => {
    expect(resolveWeightDtype('auto', 'f16', cuda)).toBe('f16');
    expect(resolveWeightDtype('auto', 'bf16', cuda)).toBe('f32');
    expect(resolveWeightDtype('auto', 'f32', cuda)).toBe('f32');
    expect(resolveWeightDtype('auto', 'f16', cpu)).toBe('f32');
    expect(resolveWeightDtype('auto', undefined, cpu)).toBe('f32');
    expect(resolveWeightDtype('f16', 'bf16', cpu)).toBe('f16');
    expect(resolveWeightDtype('f32', 'f16', cuda)).toBe('f32');
  });

  it('bf16 is refused naming the flag, the onnxruntime-node version and what to use', async () => {
    await expect(createOrtBackend({ dtype: 'bf16' })).rejects.toThrow(
      /--dtype bf16 is not supported by onnxruntime-node \d+\.\d+\.\d+: it has no bfloat16 tensors; use --dtype f16 or f32/,
    );
  });

  it('a weight beyond f16 range is a clear error, not an infinite weight', async () => {
    const be = await createOrtBackend({ device: testDevice(), dtype: 'f16' });
    try {
      const x = be.upload(new Float32Array([1, 1]), [1, 2]);
      const w = be.upload(new Float32Array([1, 7e4]), [2, 1]);
      await expect(be.read(be.matmul(x, w))).rejects.toThrow(
        "--dtype f16: a weight [2,1] holds 70000 at element 1, beyond f16's largest finite value 65504; use --dtype f32",
      );
    } finally {
      await be.destroy();
    }
  });

  it('an activation (not an upload) is never rounded', async () => {
    const be = await createOrtBackend({ device: testDevice(), dtype: 'f16' });
    try {
      const x = be.upload(new Float32Array([1]), [1, 1]);
      const w = be.upload(new Float32Array([1 + 2 ** -20]), [1, 1]);
      // w as the left operand is read in f32; its product, an activation, as the weight
      // operand is too: the low bits survive both
      const act = be.matmul(w, x);
      expect((await be.read(be.matmul(x, act)))[0]).toBe(Math.fround(1 + 2 ** -20));
      // the same weight read directly is the f16 rounding of it
      expect((await be.read(be.matmul(x, w)))[0]).toBe(1);
    } finally {
      await be.destroy();
    }
  });
});
