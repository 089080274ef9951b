/**
 * `--dtype bf16` / `f16` EM step vs the f32 step on the same backend: the token-entropy loss,
 * every parameter gradient, the global norm, and the weights after one SGD and one AdamW
 * update from each side's own gradients. The only difference is the rounding of the weights
 * the kernels read (unit roundoff u: bf16 2⁻⁸, f16 2⁻¹¹); the bounds (core/testing's
 * expectLowPrecisionStep) are in units of u
 * (measured on lavapipe: loss ≤ 1.6u, per-tensor gradient max |Δ| / max |g| ≤ 12.3u (bf16) and
 * 15.2u (f16), global norm ≤ 1.3u; bounds: loss and norm 4u, gradients 32u).
 */
import { expectLowPrecisionStep, stepModels } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from './dawn-backend.js';
import { toBf16Bits, toF16Bits, useDawn } from './testing/harness.js';

const unitRoundoff = { bf16: 2 ** -8, f16: 2 ** -11 } as const;
const toBits = { bf16: toBf16Bits, f16: toF16Bits } as const;

describe('EM step with a low-precision compute copy vs the f32 step', () => {
  const h = useDawn(); // f32 on lavapipe (auto)
  for (const dtype of ['bf16', 'f16'] as const) {
    for (const model of stepModels()) {
      it(`${dtype}, ${model.name}: loss, gradients, norm and updated weights`, async (ctx) => {
        const f32 = h.dawn(ctx);
        const low = await createDawnBackend({ dtype });
        try {
          await expectLowPrecisionStep(low, f32, model, {
            u: unitRoundoff[dtype],
            // the compute copy follows the updated master
            afterUpdate: async (_name, param, values) => {
              const copy = await low.readComputeCopy(param);
              if (copy) expect(Array.from(copy)).toEqual(Array.from(values, toBits[dtype]));
            },
          });
        } finally {
          await low.destroy();
        }
      });
    }
  }
});
