import { z } from 'zod';
import { defineObjective } from '../objective.js';
import { completionMaskParam, temperatureParam } from '../params.js';

/**
 * Token entropy restricted to the top q fraction of completion positions by entropy: the loss
 * is their mean entropy, so only they receive a gradient. The selection is a constant of the
 * step (it has no gradient of its own).
 */
export const highEntropyTokens = defineObjective({
  name: 'high-entropy-tokens',
  description:
    'Mean entropy of the top-q fraction of completion positions by entropy; only they get a gradient.',
  params: z.object({
    temperature: temperatureParam(0.5),
    mask: completionMaskParam,
    q: z.coerce
      .number()
      .gt(0)
      .max(1)
      .default(0.2)
      .describe(
        'fraction of completion positions kept, highest entropy first (ceil(q·n) of n), in (0, 1] (default 0.2)',
      ),
  }),
  stats: (p) => ({ temperature: p.temperature, stats: ['lse', 'ez'] }),
  loss(ctx, p) {
    const { maskedMean, sub, topFractionMask } = ctx.ops;
    const entropy = sub(ctx.stat('lse'), ctx.stat('ez'));
    const completion = ctx.completionMask(p.mask);
    const loss = maskedMean(entropy, topFractionMask(entropy, completion, p.q));
    return { loss, metrics: { entropy: maskedMean(entropy, completion), top_entropy: loss } };
  },
});
