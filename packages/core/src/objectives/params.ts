/**
 * Parameter schemas shared by the built-in objectives. Numbers are coerced, so
 * `token-entropy:temperature=0.7` and a config file's `temperature: 0.7` both parse; each
 * field documents its range and default, which the loader repeats on a bad value.
 */
import { z } from 'zod';
import { COMPLETION_MASK_CONVENTIONS, maskConvention } from './objective-batch.js';

export function temperatureParam(defaultValue: number) {
  return z.coerce
    .number()
    .gt(0)
    .max(100)
    .default(defaultValue)
    .describe(`softmax temperature T of the statistics, in (0, 100] (default ${defaultValue})`);
}

export const completionMaskParam = z
  .preprocess(maskConvention, z.enum(COMPLETION_MASK_CONVENTIONS))
  .default('paper')
  .describe(
    "which logits count: 'paper' (positions t ≥ prompt length whose token is not pad, as the One-shot EM trainer) " +
      "or 'shifted' (the logits that predicted each completion token) (default 'paper'; 'reference' is its deprecated name)",
  );
