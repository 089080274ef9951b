/**
 * What an objective knows about the tokens of a batch: the full left-padded sequences
 * (prompt + completion), where the completion starts, and the masks derived from them.
 * Every per-token array has N = B·T entries, index b·T + t, matching the rows of the
 * statistics [N, S] (row b·T + t holds the logits at position t of sequence b).
 *
 * Layout: ids[b, t < P] is the prompt, left-padded to width P; ids[b, t ≥ P] is the sampled
 * completion, ending with EOS and right-padded with pad. When the tokenizer has no pad token
 * the reference trainer uses EOS as pad, which drops EOS from the masks below.
 */

import { warnDeprecated } from '../deprecation.js';

export interface ObjectiveBatch {
  /** B sequences */
  readonly B: number;
  /** T positions per sequence (P prompt + completion) */
  readonly T: number;
  /** V, the vocabulary size of the logits (self-certainty's log V) */
  readonly V: number;
  /** [B·T] token ids */
  readonly ids: Int32Array;
  /** P, the padded prompt width: completions start at position P */
  readonly promptLength: number;
  readonly padId: number;
  readonly eosIds: readonly number[];
  /** [B·T] next-token ids: targets[b, t] = ids[b, t + 1]; the last column is pad */
  readonly targets: Int32Array;
}

/** `paper`: the One-shot EM trainer's; `shifted`: the logits that predicted each completion token. */
export const COMPLETION_MASK_CONVENTIONS = ['paper', 'shifted'] as const;
export type CompletionMaskConvention = (typeof COMPLETION_MASK_CONVENTIONS)[number];

/**
 * The 0.1 name of the `paper` convention ('reference' also named the CPU backend), accepted
 * with a deprecation line until 0.2.
 */
export type DeprecatedMaskConvention = 'reference';

/** A mask convention as a user may spell it → its current name (old names warn once). */
export function maskConvention(value: unknown): unknown {
  if (value !== 'reference') return value;
  warnDeprecated("mask convention 'reference'", "'paper'", "'reference' is the CPU backend");
  return 'paper';
}

export function createObjectiveBatch(fields: Omit<ObjectiveBatch, 'targets'>): ObjectiveBatch {
  const { B, T, V, ids, promptLength: P, padId } = fields;
  for (const [name, v] of [
    ['B', B],
    ['T', T],
    ['V', V],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`ObjectiveBatch.${name} = ${v}; expected an integer ≥ 1`);
  }
  if (ids.length !== B * T) {
    throw new Error(`ObjectiveBatch.ids has ${ids.length} entries; expected B·T = ${B}·${T}`);
  }
  if (!Number.isInteger(P) || P < 1 || P > T) {
    throw new Error(`ObjectiveBatch.promptLength = ${P}; expected an integer in [1, T = ${T}]`);
  }
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < V))
      throw new Error(`ObjectiveBatch.ids[${i}] = ${ids[i]}; expected [0, V = ${V})`);
  }
  if (!(padId >= 0 && padId < V))
    throw new Error(`ObjectiveBatch.padId = ${padId}; expected [0, V = ${V})`);
  return { ...fields, targets: nextTokenTargets(ids, B, T, padId) };
}

/** targets[b, t] = ids[b, t + 1]; the last position of each sequence gets pad. */
export function nextTokenTargets(ids: Int32Array, B: number, T: number, padId: number): Int32Array {
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) targets[b * T + t] = t + 1 < T ? ids[b * T + t + 1] : padId;
  }
  return targets;
}

function positionMask(
  batch: ObjectiveBatch,
  keep: (b: number, t: number) => boolean,
): Float64Array {
  const mask = new Float64Array(batch.B * batch.T);
  for (let b = 0; b < batch.B; b++) {
    for (let t = 0; t < batch.T; t++) mask[b * batch.T + t] = keep(b, t) ? 1 : 0;
  }
  return mask;
}

function id(batch: ObjectiveBatch, b: number, t: number): number {
  return batch.ids[b * batch.T + t];
}

/** 1 where ids ≠ pad: the key mask the model attends with, per token. */
export function keyMask(batch: ObjectiveBatch): Float64Array {
  return positionMask(batch, (b, t) => id(batch, b, t) !== batch.padId);
}

/**
 * `paper`: positions t ≥ P whose token ids[t] ≠ pad — exactly the One-shot EM trainer's
 * mask over the logits. `shifted`: positions t whose next token ids[t + 1] is a completion
 * token (t + 1 ≥ P, ids[t + 1] ≠ pad), i.e. the logits that predicted each completion token.
 */
export function completionMask(
  batch: ObjectiveBatch,
  convention: CompletionMaskConvention | DeprecatedMaskConvention,
): Float64Array {
  const name = maskConvention(convention);
  const P = batch.promptLength;
  const T = batch.T;
  switch (name) {
    case 'paper':
      return positionMask(batch, (b, t) => t >= P && id(batch, b, t) !== batch.padId);
    case 'shifted':
      return positionMask(
        batch,
        (b, t) => t + 1 < T && t + 1 >= P && id(batch, b, t + 1) !== batch.padId,
      );
    default:
      throw new Error(`completion mask '${convention}'; expected 'paper' or 'shifted'`);
  }
}

/**
 * Positions whose own token and next token are both real (≠ pad), prompt included: the
 * logits of teacher forcing on the whole sequence.
 */
export function teacherForcingMask(batch: ObjectiveBatch): Float64Array {
  return positionMask(
    batch,
    (b, t) =>
      t + 1 < batch.T && id(batch, b, t) !== batch.padId && id(batch, b, t + 1) !== batch.padId,
  );
}

/** [B·T] sequence index b of every token. */
export function sequenceIds(batch: ObjectiveBatch): Int32Array {
  const ids = new Int32Array(batch.B * batch.T);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(i / batch.T);
  return ids;
}

/** [B] number of completion tokens (non-pad ids at t ≥ P) of each sequence. */
export function completionLengths(batch: ObjectiveBatch): Float64Array {
  const lengths = new Float64Array(batch.B);
  const mask = completionMask(batch, 'paper');
  for (let i = 0; i < mask.length; i++) lengths[Math.floor(i / batch.T)] += mask[i];
  return lengths;
}
