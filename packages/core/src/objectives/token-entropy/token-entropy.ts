import { z } from 'zod';
import { defineObjective } from '../objective.js';
import { completionMaskParam, temperatureParam } from '../params.js';

/** The One-shot EM loss: mean entropy of softmax(z / T) over completion positions. */
export const tokenEntropy = defineObjective({
  name: 'token-entropy',
  description:
    'Mean token entropy H(softmax(z / T)) over completion positions (One-shot EM, the default).',
  params: z.object({ temperature: temperatureParam(0.5), mask: completionMaskParam }),
  stats: (p) => ({ temperature: p.temperature, stats: ['lse', 'ez'] }),
  loss(ctx, p) {
    const { maskedMean, sub } = ctx.ops;
    const entropy = maskedMean(sub(ctx.stat('lse'), ctx.stat('ez')), ctx.completionMask(p.mask));
    return { loss: entropy, metrics: { entropy } };
  },
});
