/**
 * `--dtype bf16` / `f16` EM step vs the f32 step on the same backend: the token-entropy loss,
 * every parameter gradient, the global norm, and the weights after one SGD and one AdamW
 * update from each side's own gradients. The only difference is the rounding of the weights
 * the kernels read (unit roundoff u: bf16 2⁻⁸, f16 2⁻¹¹); the bounds below are in units of u
 * (measured on lavapipe: loss ≤ 1.6u, per-tensor gradient max |Δ| / max |g| ≤ 12.3u (bf16) and
 * 15.2u (f16), global norm ≤ 1.3u; bounds: loss and norm 4u, gradients 32u).
 */
import {
  buildBatch,
  builtinObjective,
  createOptimizerState,
  globalGradNorm,
  lossAndGrads,
  optimizerUpdate,
  parseObjectiveParams,
  uploadWeights,
} from '@oneshot-em/core';
import { TINY_QWEN2, expectClose, randomWeights, stories260K } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from './dawn-backend.js';
import { toBf16Bits, toF16Bits } from './testing/harness.js';
import { useDawn } from './testing/harness.js';

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

const unitRoundoff = { bf16: 2 ** -8, f16: 2 ** -11 } as const;
const toBits = { bf16: toBf16Bits, f16: toF16Bits } as const;

describe('EM step with a low-precision compute copy vs the f32 step', () => {
  const h = useDawn(); // f32 on lavapipe (auto)
  const objective = builtinObjective('token-entropy');
  if (!objective) throw new Error('token-entropy is not a built-in objective');
  const resolved = { objective, params: parseObjectiveParams(objective, {}), origin: 'builtin' };
  const models = [
    { label: 'tiny qwen2', config: TINY_QWEN2, weights: randomWeights(TINY_QWEN2, 23) },
    { label: 'stories260K', ...stories260K() },
  ];
  for (const dtype of ['bf16', 'f16'] as const) {
    const u = unitRoundoff[dtype];
    for (const model of models) {
      it(`${dtype}, ${model.label}: loss, gradients, norm and updated weights`, async (ctx) => {
        const f32 = h.dawn(ctx);
        const low = await createDawnBackend({ dtype });
        try {
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
          const got = await lossAndGrads(low, config, wl, batch, resolved, eos);
          const want = await lossAndGrads(f32, config, wf, batch, resolved, eos);
          expectClose(`${dtype} loss`, [got.loss], [want.loss], { abs: 0, rel: 4 * u });
          const worst: string[] = [];
          for (const [name, g] of want.grads) {
            const gl = got.grads.get(name);
            if (!gl) throw new Error(`no gradient for ${name}`);
            const rel = relativeError(await low.read(gl), await f32.read(g));
            if (!(rel <= 32 * u)) worst.push(`${name}: ${rel / u} u`);
          }
          expect(worst).toEqual([]);
          const [nl, nf] = [
            await globalGradNorm(low, got.grads),
            await globalGradNorm(f32, want.grads),
          ];
          expectClose(`${dtype} global gradient norm`, [nl], [nf], { abs: 0, rel: 4 * u });

          // one update each from its own gradients: SGD moves w by lr·g, so the weights differ
          // by lr·|Δg| ≤ lr·32u·max|g|; AdamW's first step is lr·g/(|g| + eps) ≈ ±lr, so an
          // element differs by at most 2·lr (where a tiny gradient flips sign)
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
              // the step-1 weights differ after SGD; after AdamW they include SGD's difference
              const bound = kind === 'sgd' ? lr * 32 * u * gmax : lr * 32 * u * gmax + 2 * lr;
              expectClose(`${kind} ${name}`, a, b, { abs: bound * 1.0001 + 1e-7, rel: 0 });
              // the compute copy follows the updated master
              const copy = await low.readComputeCopy(pl);
              if (copy) expect(Array.from(copy)).toEqual(Array.from(a, toBits[dtype]));
            }
          }
        } finally {
          await low.destroy();
        }
      });
    }
  }
});
