import { z } from 'zod';
import { defineObjective } from '../objective.js';
import { temperatureParam } from '../params.js';

/**
 * Trajectory-level entropy estimate: the mean over sequences of −Σ_t log p(y_t) of the
 * model's own completion tokens y_t (the shifted mask: the logits that predicted them).
 */
export const sequenceNll = defineObjective({
  name: 'sequence-nll',
  description:
    'Mean over sequences of the negative log-likelihood −Σ_t log p(y_t) of the completion tokens.',
  params: z.object({ temperature: temperatureParam(1) }),
  stats: (p) => ({ temperature: p.temperature, stats: ['lse', 'zy'] }),
  loss(ctx) {
    const { mean, perSequenceSum, sub } = ctx.ops;
    const nll = sub(ctx.stat('lse'), ctx.stat('zy'));
    const perSequence = perSequenceSum(
      nll,
      ctx.seqIds,
      ctx.numSequences,
      ctx.completionMask('shifted'),
    );
    const loss = mean(perSequence);
    return { loss, metrics: { sequence_nll: loss } };
  },
});
