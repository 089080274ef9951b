import { z } from 'zod';
import { defineObjective } from '../objective.js';
import { completionMaskParam, temperatureParam } from '../params.js';

/**
 * Self-certainty KL(U ‖ p) = lse − mz − log V, averaged over completion positions. It grows
 * as p moves away from uniform, so the loss is its negative: minimising raises confidence.
 */
export const selfCertainty = defineObjective({
  name: 'self-certainty',
  description:
    'Negative mean self-certainty KL(uniform ‖ p) over completion positions (minimising raises confidence).',
  params: z.object({ temperature: temperatureParam(1), mask: completionMaskParam }),
  stats: (p) => ({ temperature: p.temperature, stats: ['lse', 'mz'] }),
  loss(ctx, p) {
    const { maskedMean, neg, sub } = ctx.ops;
    const kl = sub(sub(ctx.stat('lse'), ctx.stat('mz')), Math.log(ctx.vocabSize));
    const certainty = maskedMean(kl, ctx.completionMask(p.mask));
    return { loss: neg(certainty), metrics: { self_certainty: certainty } };
  },
});
