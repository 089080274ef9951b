/**
 * The backend conformance suite (docs/architecture.md#backends): every backend runs it from its
 * `<backend>.conformance.test.ts` with its factory. Oracles: the reference backend at f64
 * (forwards, whole models, decoding) and central finite differences of the reference's
 * forward (every backward). Each failure names the check and prints the first mismatches and
 * the max difference.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import type { Tensor, TensorOps } from '../backend/tensor-ops.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { paramSpecs } from '../model/params.js';
import {
  expectClose,
  expectEqualInts,
  get,
  type HostTensor,
  put,
  randomTensor,
  sampleIndices,
  type Tolerance,
} from './conformance-compare.js';
import {
  batchLogits,
  cachedDecodeLogits,
  type DecodeCase,
  expectGradientsClose,
  expectSameDecode,
  headLossGradient,
  leftPaddedBatch,
  stories260K,
  type TinyModel,
  tinyModels,
} from './conformance-models.js';
import { type OpCase, opCases } from './conformance-ops.js';
import { finiteDifferencesAsync } from './finite-differences.js';

export interface ConformanceTolerances {
  /** primitive forwards (and optimizer steps) vs the reference(f64) */
  primitive: Tolerance;
  /** primitive backwards vs the reference(f64) backward, every element */
  backward: Tolerance;
  /** primitive backwards vs central finite differences of the reference(f64) forward */
  finiteDifference: Tolerance;
  /** finite-difference step */
  finiteDifferenceStep: number;
  /** whole-model logits vs the reference(f64): max abs */
  logitsMaxAbs: number;
  /** full parameter gradient: per tensor max |Δ| / max |want|, and the global norm */
  gradientRel: number;
}

export const DEFAULT_CONFORMANCE_TOLERANCES: ConformanceTolerances = {
  primitive: { abs: 1e-4, rel: 1e-4 },
  backward: { abs: 1e-4, rel: 1e-4 },
  finiteDifference: { abs: 1e-4, rel: 1e-3 },
  finiteDifferenceStep: 1e-4,
  logitsMaxAbs: 1e-4,
  gradientRel: 1e-4,
};

/**
 * The suite's tolerances for a backend whose kernels read weights rounded to a compute dtype of
 * unit roundoff u (bf16 2⁻⁸, f16 2⁻¹¹), products and sums in f32: rounding a weight is the only
 * new error, so a primitive errs by ≤ u·Σ|a||b| ≲ 8u on the suite's operands, whole-model logits
 * by 32u and a parameter gradient (per tensor, relative to its peak) by 16u.
 */
export function lowPrecisionTolerances(u: number): Partial<ConformanceTolerances> {
  return {
    primitive: { abs: 8 * u, rel: u },
    backward: { abs: 8 * u, rel: u },
    finiteDifference: { abs: 8 * u, rel: 1e-3 + u },
    logitsMaxAbs: 32 * u,
    gradientRel: 16 * u,
  };
}

/** Elements per input checked by finite differences. */
const FINITE_DIFFERENCE_SAMPLES = 12;

export interface ConformanceOptions {
  tolerances?: Partial<ConformanceTolerances>;
  /** test title → the reason it is skipped on this backend (shown in the title) */
  skip?: Record<string, string>;
  /**
   * The weights as the backend computes with them (e.g. a bf16/f16 compute copy): the
   * token-for-token decode checks give the reference these, since rounded weights move
   * near-tied tokens that no logit tolerance can hold.
   */
  computeWeights?: (name: string, shape: readonly number[], values: Float32Array) => Float32Array;
}

export const GREEDY_CASE: DecodeCase = {
  prompts: [[1]],
  sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
  maxNewTokens: 200,
  seed: 0,
};

/** The paper's sampling settings, 4 left-padded prompts × 64 new tokens. */
export const SAMPLED_CASE: DecodeCase = {
  prompts: [[1], [1, 403, 407, 261], [1, 20], [1, 77, 300]],
  sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
  maxNewTokens: 64,
  seed: 1234,
};

/** The sampled case with '.' (id 426 in stories260K's tokenizer) as EOS: sequences stop apart. */
export const SAMPLED_EOS_CASE: DecodeCase = { ...SAMPLED_CASE, eosIds: [426], padId: 0 };

async function runForward(ops: TensorOps, c: OpCase, inputs: Record<string, HostTensor>) {
  const x = Object.fromEntries(Object.entries(inputs).map(([k, h]) => [k, put(ops, h)]));
  return { x, outputs: c.forward(ops, x) };
}

async function readAll(ops: TensorOps, ts: Tensor[]) {
  return Promise.all(ts.map((t) => get(ops, t)));
}

export function describeBackendConformance(
  name: string,
  factory: () => Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  const tol = { ...DEFAULT_CONFORMANCE_TOLERANCES, ...options.tolerances };
  const reference = createReferenceBackend({ precision: 'f64' });
  const check = (title: string, fn: () => Promise<void>) => {
    const reason = options.skip?.[title];
    if (reason) it.skip(`${title} — skipped: ${reason}`, fn);
    else it(title, fn);
  };

  describe(`${name}: backend conformance`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await factory();
    });
    afterAll(async () => {
      await backend?.destroy();
    });

    describe('primitive forwards vs reference(f64)', () => {
      for (const c of opCases()) {
        check(c.name, async () => {
          const got = await readAll(backend, (await runForward(backend, c, c.inputs)).outputs);
          const want = await readAll(reference, (await runForward(reference, c, c.inputs)).outputs);
          want.forEach((w, k) => {
            const what = `${c.name}: output ${k}`;
            if (c.exact) expectEqualInts(what, got[k], w);
            else expectClose(what, got[k], w, tol.primitive);
          });
        });
      }
    });

    describe('primitive backwards vs reference(f64) and finite differences', () => {
      for (const c of opCases().filter((o) => o.backward)) {
        check(`${c.name} backward`, async () => {
          const wrt = c.wrt ?? [];
          const { outputs: referenceOut } = await runForward(reference, c, c.inputs);
          const dOutHost = randomTensor([...referenceOut[0].shape], 999);
          const backwardOf = async (ops: TensorOps) => {
            const { x, outputs } = await runForward(ops, c, c.inputs);
            return readAll(ops, c.backward?.(ops, x, outputs, put(ops, dOutHost)) ?? []);
          };
          const got = await backwardOf(backend);
          const want = await backwardOf(reference);
          for (const [k, input] of wrt.entries()) {
            expectClose(`${c.name}: d${input} vs reference`, got[k], want[k], tol.backward);
          }
          const loss = async (inputs: Record<string, HostTensor>) => {
            const out = await get(reference, (await runForward(reference, c, inputs)).outputs[0]);
            let l = 0;
            for (let i = 0; i < out.length; i++)
              if (dOutHost.data[i] !== 0) l += dOutHost.data[i] * out[i];
            return l;
          };
          for (const [k, input] of wrt.entries()) {
            const indices = sampleIndices(c.inputs[input].data.length, FINITE_DIFFERENCE_SAMPLES);
            const { shape } = c.inputs[input];
            const fd = await finiteDifferencesAsync(
              (data) => loss({ ...c.inputs, [input]: { data, shape } }),
              Float64Array.from(c.inputs[input].data),
              { indices, h: tol.finiteDifferenceStep },
            );
            const analytic = indices.map((i) => got[k][i]);
            expectClose(
              `${c.name}: d${input} vs finite differences at ${indices}`,
              analytic,
              fd,
              tol.finiteDifference,
            );
          }
        });
      }
    });

    describe('whole models vs reference(f64)', () => {
      const models: Array<() => TinyModel> = [...tinyModels().map((m) => () => m), stories260K];
      for (const model of models) {
        const m = model();
        check(`${m.name}: logits of a left-padded batch`, async () => {
          const batch = leftPaddedBatch(m.config, [9, 5, 1], 3);
          const got = await batchLogits(backend, m, batch);
          const want = await batchLogits(reference, m, batch);
          expectClose(`${m.name} logits`, got, want, { abs: tol.logitsMaxAbs, rel: 0 });
        });
        check(`${m.name}: KV-cache prefill + decode-step logits`, async () => {
          const batch = leftPaddedBatch(m.config, [8, 6, 3], 4);
          const got = await cachedDecodeLogits(backend, m, batch, 4);
          const want = await cachedDecodeLogits(reference, m, batch, 4);
          expectClose(`${m.name} decode logits`, got, want, { abs: tol.logitsMaxAbs, rel: 0 });
        });
        check(`${m.name}: full parameter gradient of a stats-coefficient head loss`, async () => {
          const batch = leftPaddedBatch(m.config, [7, 4, 2], 5);
          const got = await headLossGradient(backend, m, batch, 11);
          const want = await headLossGradient(reference, m, batch, 11);
          expectGradientsClose(m.name, got.grads, want.grads, tol.gradientRel);
        });
      }
      const decodeModels = () => {
        const m = stories260K();
        const round = options.computeWeights;
        if (!round) return { model: m, referenceModel: m };
        const weights = new Map(
          paramSpecs(m.config).map((s) => [
            s.name,
            round(s.name, s.shape, m.weights.get(s.name) as Float32Array),
          ]),
        );
        return { model: m, referenceModel: { ...m, weights } };
      };
      check('stories260K: greedy decode of 200 tokens from BOS', async () => {
        const { model, referenceModel } = decodeModels();
        await expectSameDecode(
          'greedy decode',
          backend,
          reference,
          model,
          GREEDY_CASE,
          referenceModel,
        );
      });
      check('stories260K: sampled decode (T 0.5, top-p 0.95, penalty 1.15), 4 × 64', async () => {
        const { model, referenceModel } = decodeModels();
        await expectSameDecode(
          'sampled decode',
          backend,
          reference,
          model,
          SAMPLED_CASE,
          referenceModel,
        );
      });
      check('stories260K: sampled decode with per-sequence EOS', async () => {
        const c = SAMPLED_EOS_CASE;
        const { model, referenceModel } = decodeModels();
        await expectSameDecode('sampled decode, EOS', backend, reference, model, c, referenceModel);
      });
    });
  });
}
