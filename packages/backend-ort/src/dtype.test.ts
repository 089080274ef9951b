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
import { f16ToF32, type ModelConfig, paramSpecs, uploadWeights } from '@oneshot-em/core';
import {
  describeBackendConformance,
  lowPrecisionTolerances,
  expectLowPrecisionStep,
  stepModels,
  stories260K,
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
    tolerances: lowPrecisionTolerances(u),
    computeWeights: roundMatrices,
  },
);

/** f32 bytes of the parameters fed through a compute copy (matrices: projections, tables). */
function matrixBytes(config: ModelConfig): number {
  return paramSpecs(config)
    .filter((s) => s.shape.length >= 2)
    .reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
}

describe('ort --dtype f16: EM step vs the f32 step', () => {
  for (const model of stepModels()) {
    it(`${model.name}: loss, gradients, norm, updated weights, compute copy, bytes up`, async () => {
      const f32 = await createOrtBackend({ device: testDevice() });
      const low = await createOrtBackend({ device: testDevice(), dtype: 'f16' });
      try {
        expect(low.weightDtype).toBe('f16');
        expect(f32.weightDtype).toBe('f32');
        let up = [0, 0];
        await expectLowPrecisionStep(low, f32, model, {
          u,
          beforeLossAndGrads: () => {
            up = [low.transfers().bytesUp, f32.transfers().bytesUp];
          },
          afterLossAndGrads: () => {
            // the matrices cross as f16: half their f32 bytes saved in every run that feeds them
            const saved = f32.transfers().bytesUp - up[1] - (low.transfers().bytesUp - up[0]);
            expect(saved).toBeGreaterThanOrEqual(matrixBytes(model.config) / 2);
            expect(low.runs()).toBe(f32.runs());
          },
          // the compute copy follows the updated f32 master (an independent rounding of it)
          afterUpdate: async (_name, param, values) => {
            const copy = await low.readComputeCopy(param);
            if (param.shape.length < 2) expect(copy).toBeUndefined();
            else {
              expect(copy).toBeDefined();
              expect(Array.from(f16ToF32(copy as Uint16Array))).toEqual(
                Array.from(values, roundF16),
              );
            }
          },
        });
      } finally {
        await low.destroy();
        await f32.destroy();
      }
    });
  }
});

describe('ort --dtype f16: generation', () => {
  it('the weights are widened once per call, outside the decode Loop body', async () => {
    const m = stories260K();
    const count = async (dtype: 'f32' | 'f16') => {
      const be = await createOrtBackend({ device: testDevice(), dtype });
      try {
        const w = uploadWeights(be, m.config, m.weights);
        // a one-token prompt: no prefill, so every main-graph use of a weight is the Loop's
        await be.generate(m.config, w, {
          prompts: [[1]],
          maxNewTokens: 4,
          sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
          seed: 0,
          eosIds: [],
          padId: 0,
        });
        return be.lastGraphOpTypes().filter((o) => o === 'Cast').length;
      } finally {
        await be.destroy();
      }
    };
    // q, k, v, o, gate, up, down per layer and the head's table, each cast in the outer graph
    const matrices = 7 * m.config.numLayers + 1;
    expect((await count('f16')) - (await count('f32'))).toBeGreaterThanOrEqual(matrices);
  });
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
