import type { SamplingParams } from '@oneshot-em/core';
import { type GraphBuilder, int } from '../../graph/builder.js';

/**
 * The on-device sampler, same steps and order as core's sampling/sampler.ts:
 * repetition penalty → temperature (0 = argmax) → softmax → descending order (TopK over the
 * whole row; ties by lower id) → top-p prefix (first i with cumsum ≥ topP) → top-k → min-p → inverse
 * CDF with u·Σkept. logits [B, V] f32, presence [B, V] i32, uniforms [B] f32 → ids [B] i32.
 */
export function emitSample(
  b: GraphBuilder,
  logits: string,
  presence: string,
  uniforms: string,
  batch: number,
  vocab: number,
  params: SamplingParams,
): string {
  let z = logits;
  if (params.repetitionPenalty !== 1) {
    const p = params.repetitionPenalty;
    const present = b.op('Equal', [presence, b.constant('i32', [1], [])]);
    const positive = b.op('Greater', [z, b.scalarF32(0)]);
    const penalised = b.op('Where', [
      positive,
      b.op('Div', [z, b.scalarF32(p)]),
      b.op('Mul', [z, b.scalarF32(p)]),
    ]);
    z = b.op('Where', [present, penalised, z]);
  }
  if (params.temperature === 0) {
    return b.cast(
      b.op('ArgMax', [z], { axis: int(1), keepdims: int(0), select_last_index: int(0) }),
      'i32',
    );
  }
  const probs = b.op('Softmax', [b.op('Mul', [z, b.scalarF32(1 / params.temperature)])], {
    axis: int(1),
  });
  const [sorted, order] = b.node(
    'TopK',
    [probs, b.i64([vocab])],
    { axis: int(1), largest: int(1), sorted: int(1) },
    2,
  );
  const cum = b.op('CumSum', [sorted, b.constant('i64', [1], [])]);
  const countTrue = (cond: string) => b.reduceSum(b.cast(cond, 'i64'), [1], true);
  // kept [B, 1] i64: length of the kept prefix.
  let kept = b.constant('i64', Array(batch).fill(vocab), [batch, 1]);
  if (params.topP < 1) {
    const below = countTrue(b.op('Less', [cum, b.scalarF32(params.topP)]));
    kept = b.op('Min', [b.op('Add', [below, b.constant('i64', [1], [])]), kept]);
  }
  if (params.topK > 0) kept = b.op('Min', [kept, b.constant('i64', [params.topK], [])]);
  const minP = params.minP ?? 0;
  if (minP > 0) {
    // min-p: the tokens with p ≥ minP · max p, a prefix of the order (sorted[:, 0] is the max)
    const floor = b.op('Mul', [b.slice(sorted, 1, 0, 1), b.scalarF32(minP)]);
    kept = b.op('Min', [kept, countTrue(b.op('GreaterOrEqual', [sorted, floor]))]);
  }
  const last = b.op('Sub', [kept, b.constant('i64', [1], [])]);
  const keptMass = b.op('GatherElements', [cum, last], { axis: int(1) });
  const target = b.op('Mul', [b.reshape(uniforms, [batch, 1]), keptMass]);
  const rank = b.op('Min', [countTrue(b.op('LessOrEqual', [cum, target])), last]);
  const id = b.op('GatherElements', [order, rank], { axis: int(1) });
  return b.cast(b.reshape(id, [batch]), 'i32');
}

/** presence [B, V] with presence[b, ids[b]] = 1 (a new value; the backend re-points the handle). */
export function emitMarkPresent(
  b: GraphBuilder,
  presence: string,
  ids: string,
  batch: number,
): string {
  const ones = b.constant('i32', Array(batch).fill(1), [batch, 1]);
  return b.op('ScatterElements', [presence, b.reshape(ids, [batch, 1]), ones], { axis: int(1) });
}
