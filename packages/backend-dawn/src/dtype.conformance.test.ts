import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16Into } from '@oneshot-em/core';
import { describeBackendConformance, lowPrecisionTolerances } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { createDawnBackend, describeDawnAdapters } from './index.js';
import { isCi } from './testing/harness.js';

/**
 * Core's conformance suite with the weights' compute copy in bf16 and in f16 (`--dtype`),
 * against the f64 reference with the master (unrounded) weights. Tolerances scale with the
 * dtype's unit roundoff u (bf16: 8 significant bits, u = 2⁻⁸; f16: 11, u = 2⁻¹¹), since
 * rounding a weight is its only new error (products and sums stay f32):
 * - a matmul's error is ≤ u·Σ|a_k||b_k|; the suite's operands (|x| ≲ 2, K ≤ 16) give
 *   Σ|a||b| ≲ 8: abs 8u, and rel u for ops that copy weights (the embedding gather);
 * - the whole-model logits (|logit| ≤ 16 for stories260K) pass 5–7 rounded matmuls per layer:
 *   max abs 32u (bf16 measured on lavapipe: 0.076 = 19u);
 * - parameter gradients go through the rounded weights forward and backward: per tensor
 *   max |Δ| / max |want| ≤ 16u (bf16 measured: 0.025 = 6.4u, o_proj.bias).
 * Decoding is compared token for token, which rounded weights cannot promise against the
 * master weights (a near tie in the argmax or the sampling CDF flips): there the f64 reference
 * decodes with the weights the compute copy holds — every matrix (embedding, projections,
 * head) rounded to nearest even, norm gains and biases f32 — an independent rounding on the
 * host (core's safetensors converters) of what the GPU kernels round.
 */
const unitRoundoff = { bf16: 2 ** -8, f16: 2 ** -11 } as const;

const missing = await describeDawnAdapters().then(
  () => null,
  (err: Error) => err.message,
);

for (const dtype of ['bf16', 'f16'] as const) {
  const u = unitRoundoff[dtype];
  if (missing && !isCi()) {
    describe(`dawn --dtype ${dtype}: backend conformance`, () => {
      it.skip(`skipped: ${missing}`, () => {});
    });
    continue;
  }
  describeBackendConformance(`dawn --dtype ${dtype}`, () => createDawnBackend({ dtype }), {
    tolerances: lowPrecisionTolerances(u),
    computeWeights: (_name, shape, values) =>
      shape.length < 2 ? values : dtype === 'bf16' ? toBf16(values) : toF16(values),
  });
}

function toBf16(values: Float32Array): Float32Array {
  return bf16ToF32(f32ToBf16(values));
}

function toF16(values: Float32Array): Float32Array {
  const bits = new Uint16Array(values.length);
  f32ToF16Into(values, bits);
  return f16ToF32(bits);
}
