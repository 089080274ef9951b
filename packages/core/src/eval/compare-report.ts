// `oneshot-em compare`: base vs trained model on the same prompts. The CLI gathers per-token
// statistics from both models; this turns them into the JSON summary and the two figures
// (logit values, token entropies) of the paper's logit-shift plot.

import { histogramPairSvg, summarizeValues, type ValueSummary } from './histogram-svg.js';

/** What the CLI measures for one model over the same completion tokens. */
export interface ModelTokenStats {
  /** Logit values (all vocabulary entries at the sampled positions, or a uniform subsample). */
  logits: ArrayLike<number>;
  /** Entropy of the next-token distribution at each position (nats). */
  entropies: ArrayLike<number>;
  /** Largest next-token probability at each position. */
  maxProbs: ArrayLike<number>;
}

export interface ModelSummary {
  meanEntropy: number;
  meanMaxProb: number;
  logits: ValueSummary;
  entropies: ValueSummary;
}

export interface CompareReport {
  summary: { base: ModelSummary; trained: ModelSummary };
  logitSvg: string;
  entropySvg: string;
}

function summarizeModel(stats: ModelTokenStats): ModelSummary {
  const entropies = summarizeValues(stats.entropies);
  return {
    meanEntropy: entropies.mean,
    meanMaxProb: summarizeValues(stats.maxProbs).mean,
    logits: summarizeValues(stats.logits),
    entropies,
  };
}

export function compareReport(
  base: ModelTokenStats,
  trained: ModelTokenStats,
  options: { bins?: number; labels?: [string, string] } = {},
): CompareReport {
  const common = { bins: options.bins, labels: options.labels };
  return {
    summary: { base: summarizeModel(base), trained: summarizeModel(trained) },
    logitSvg: histogramPairSvg({
      ...common,
      title: 'Logit values',
      xLabel: 'logit value (unnormalised log-probability)',
      base: base.logits,
      trained: trained.logits,
    }),
    entropySvg: histogramPairSvg({
      ...common,
      title: 'Token entropy',
      xLabel: 'next-token entropy (nats)',
      base: base.entropies,
      trained: trained.entropies,
    }),
  };
}
