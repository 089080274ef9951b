import type { Tensor, VocabStatName } from '@oneshot-em/core';
import type { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitVocabGrad, emitVocabStats, vocabRowsPerChunk } from './vocab-graph.js';

export interface VocabOptions {
  temperature: number;
  stats: readonly VocabStatName[];
}

export function vocabStats(
  ctx: Tracer,
  logits: Tensor,
  targets: Tensor,
  opts: VocabOptions,
): OrtTensor {
  const [N, V] = logits.shape;
  checkTemperature(opts.temperature);
  // Row chunks help the CPU EP's caches; on CUDA each chunk would be kernel launches.
  const rows = ctx.device.kind === 'cpu' ? vocabRowsPerChunk(N, V) : N;
  return ctx.trace1([logits, targets], [N, opts.stats.length], (b, [z, y]) => [
    emitVocabStats(b, z.name, y.name, N, opts.temperature, opts.stats, rows),
  ]);
}

export function vocabGrad(
  ctx: Tracer,
  logits: Tensor,
  targets: Tensor,
  statValues: Tensor,
  coeffs: Tensor,
  opts: VocabOptions,
): OrtTensor {
  const [N, V] = logits.shape;
  checkTemperature(opts.temperature);
  const rows = ctx.device.kind === 'cpu' ? vocabRowsPerChunk(N, V) : N;
  return ctx.trace1([logits, targets, statValues, coeffs], [N, V], (b, [z, y, s, c]) => [
    emitVocabGrad(b, z.name, y.name, s.name, c.name, N, V, opts.temperature, opts.stats, rows),
  ]);
}

function checkTemperature(t: number): void {
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`temperature = ${t}; expected a finite number > 0`);
}
