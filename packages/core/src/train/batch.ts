/**
 * A training batch as the reference trainer builds it: prompts left-padded to a common width P,
 * completions right-padded to G, so ids is [B, T = P + G]. keyMask = (ids ≠ pad), the reference's
 * attention mask (with pad = EOS this also hides EOS, exactly as the reference does).
 */
export interface TrainBatch {
  B: number;
  T: number;
  /** P: the padded prompt width */
  promptLength: number;
  /** [B·T] */
  ids: Int32Array;
  /** [B·T] 1 = attended */
  keyMask: Int32Array;
  /** [B·T] HF-style positions from the mask: cumulative real tokens − 1, clamped at 0 */
  positions: Int32Array;
  padId: number;
}

export function buildBatch(
  prompts: readonly (readonly number[])[],
  completions: readonly (readonly number[])[],
  padId: number,
): TrainBatch {
  if (prompts.length !== completions.length || prompts.length === 0) {
    throw new Error('buildBatch: need as many prompts as completions (≥ 1)');
  }
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const G = Math.max(1, ...completions.map((c) => c.length));
  const T = P + G;
  const ids = new Int32Array(B * T).fill(padId);
  for (let b = 0; b < B; b++) {
    const p = prompts[b];
    ids.set(p, b * T + P - p.length);
    ids.set(completions[b], b * T + P);
  }
  const keyMask = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let seen = 0;
    for (let t = 0; t < T; t++) {
      const real = ids[b * T + t] !== padId ? 1 : 0;
      keyMask[b * T + t] = real;
      seen += real;
      positions[b * T + t] = Math.max(0, seen - 1);
    }
  }
  return { B, T, promptLength: P, ids, keyMask, positions, padId };
}
