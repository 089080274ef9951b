import { z } from 'zod';
import { defineObjective } from '../objective.js';
import { temperatureParam } from '../params.js';

/** Teacher-forced cross-entropy on the batch's own tokens (supervised warm-up, baselines). */
export const nll = defineObjective({
  name: 'nll',
  description:
    'Teacher-forced cross-entropy −log p(y_t), averaged over the completion (or all real) tokens.',
  params: z.object({
    temperature: temperatureParam(1),
    tokens: z
      .enum(['completion', 'all'])
      .default('completion')
      .describe(
        "which next tokens are predicted: 'completion' or 'all' real tokens, prompt included (default 'completion')",
      ),
  }),
  stats: (p) => ({ temperature: p.temperature, stats: ['lse', 'zy'] }),
  loss(ctx, p) {
    const { maskedMean, sub } = ctx.ops;
    const mask = p.tokens === 'all' ? ctx.teacherForcingMask() : ctx.completionMask('shifted');
    const loss = maskedMean(sub(ctx.stat('lse'), ctx.stat('zy')), mask);
    return { loss, metrics: { nll: loss } };
  },
});
