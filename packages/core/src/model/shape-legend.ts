/**
 * The shape legend of `model/` (config.ts), as data: every buffer in forward.ts, backward.ts,
 * head.ts and decode.ts documents its shape with these letters.
 */
export const SHAPE_LEGEND = {
  B: 'batch (sequences)',
  T: 'positions per sequence (query)',
  S: 'positions per sequence (key; the cache length when decoding)',
  N: 'tokens = B·T, activations are [N, X] in batch-major order',
  C: 'hidden size',
  F: 'MLP intermediate size',
  V: 'vocabulary size',
  L: 'layers',
  H: 'attention heads',
  K: 'key/value heads (GQA)',
  D: 'head dimension',
} as const;
