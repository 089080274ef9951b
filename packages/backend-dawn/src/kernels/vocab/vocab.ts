import type { VocabStatName } from '@oneshot-em/core';
import { family, wgsl } from '../kernel.js';

export const vocab = family(
  'vocab',
  wgsl(import.meta.url, './vocab.wgsl'),
  [
    ['n', 'u32'],
    ['v', 'u32'],
    ['inv_t', 'f32'],
    ['n_stats', 'u32'],
    ['code0', 'u32'],
    ['code1', 'u32'],
    ['code2', 'u32'],
    ['code3', 'u32'],
    ['code4', 'u32'],
    ['lse_col', 'u32'],
    ['lse_stride', 'u32'],
  ],
  {
    stats: { bindings: { logits: 1, targets: 2, stats_out: 3 }, workgroupSize: 256 },
    grad_logits: {
      bindings: { logits: 1, targets: 2, stat_values: 4, coeffs: 5, lse_source: 6, grad: 7 },
      workgroupSize: 256,
    },
  },
);

const CODES: Record<VocabStatName, number> = { lse: 0, ez: 1, zy: 2, mz: 3, s2: 4 };

/** The uniform fields naming the requested statistics, in order. */
export function statCodes(stats: readonly VocabStatName[]): Record<string, number> {
  if (stats.length === 0 || stats.length > 5)
    throw new Error(`vocab stats: expected 1 to 5 statistics, got ${stats.length}`);
  const out: Record<string, number> = { n_stats: stats.length };
  for (let i = 0; i < 5; i++) {
    const name = stats[i];
    if (name !== undefined && !(name in CODES))
      throw new Error(`vocab stats: unknown statistic "${name}"`);
    out[`code${i}`] = name === undefined ? 0 : CODES[name];
  }
  return out;
}
