import type { SamplingParams } from '../backend/tensor-ops.js';

/**
 * The CPU reference sampler for one row of logits — the exact semantics every backend's
 * `sample` reproduces (Hugging Face `generate` order: penalty, temperature, top-p), in f64:
 *
 * 1. Repetition penalty (CTRL, HF's RepetitionPenaltyLogitsProcessor): for every token j with
 *    present[j] = 1, z_j ← z_j / p if z_j > 0, else z_j · p. (p = 1 disables.)
 * 2. Temperature 0 → return argmax z (ties: the lower id). Otherwise a_j = z_j / T.
 * 3. p = softmax(a) with max subtraction; order the tokens by descending p, ties by lower id.
 * 4. Top-p (HF TopPLogitsWarper): keep the shortest prefix of that order whose cumulative
 *    probability is ≥ topP — at least one token; topP ≥ 1 keeps every token.
 * 5. Top-k: keep at most the first topK tokens of that prefix (0 disables).
 * 6. Min-p (HF MinPLogitsWarper, applied after temperature): keep only the tokens with
 *    p_j ≥ minP · max p (0 disables; the most likely token always stays). The ratio to the
 *    largest probability does not change when top-k/top-p renormalise, so HF's order (min-p
 *    last) and this one give the same set.
 *    All three filters keep a prefix of the same order, so the kept set is the shortest of the
 *    prefixes; top-p is measured on the full distribution, not the top-k renormalised one.
 * 7. Draw with one uniform u ∈ [0, 1): walking the kept prefix in order with the running sum
 *    c_i of p, return the first token with u · Σ_kept p < c_i (the last kept token if rounding
 *    leaves none).
 *
 * A backend computing in f32 makes the same draws except when u lands within rounding of a
 * boundary, a measure-zero event that the conformance suite's fixed seeds do not hit.
 */
export function sampleRow(
  logits: ArrayLike<number>,
  present: ArrayLike<number>,
  uniform: number,
  params: SamplingParams,
): number {
  const V = logits.length;
  const z = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    const x = logits[j];
    z[j] =
      present[j] === 1 ? (x > 0 ? x / params.repetitionPenalty : x * params.repetitionPenalty) : x;
  }
  if (params.temperature === 0) return argmax(z);

  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < V; j++) {
    z[j] /= params.temperature;
    if (z[j] > max) max = z[j];
  }
  let total = 0;
  for (let j = 0; j < V; j++) {
    z[j] = Math.exp(z[j] - max);
    total += z[j];
  }
  const probs = z.map((e) => e / total);
  const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => probs[b] - probs[a] || a - b);

  let kept = V;
  if (params.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < V; i++) {
      cumulative += probs[order[i]];
      if (cumulative >= params.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  if (params.topK > 0) kept = Math.min(kept, params.topK);
  const minP = params.minP ?? 0;
  if (minP > 0) {
    const floor = minP * probs[order[0]];
    let above = 1;
    while (above < kept && probs[order[above]] >= floor) above++;
    kept = above;
  }

  let keptMass = 0;
  for (let i = 0; i < kept; i++) keptMass += probs[order[i]];
  const target = uniform * keptMass;
  let cumulative = 0;
  for (let i = 0; i < kept; i++) {
    cumulative += probs[order[i]];
    if (target < cumulative) return order[i];
  }
  return order[kept - 1];
}

/** Index of the largest value; ties go to the lower index. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j] > values[best]) best = j;
  return best;
}
