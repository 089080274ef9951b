import { type GraphBuilder, int, str } from '../../graph/builder.js';

/** ids [N] i32, table [V, C] → [N, C] */
export function emitEmbeddingForward(b: GraphBuilder, ids: string, table: string): string {
  return b.op('Gather', [table, ids], { axis: int(0) });
}

/**
 * dTable [V, C] = zeros with row ids[n] += dOut[n] (ScatterND, reduction add: repeated ids
 * accumulate). `into` [V, C]: scatter into it instead of zeros — `into + dTable` without a
 * third [V, C] tensor (the tied embedding's gradient: the head's plus the lookup's).
 */
export function emitEmbeddingBackward(
  b: GraphBuilder,
  ids: string,
  dOut: string,
  n: number,
  vocab: number,
  c: number,
  into?: string,
): string {
  const base = into ?? b.op('ConstantOfShape', [b.i64([vocab, c])]);
  const idx = b.reshape(b.cast(ids, 'i64'), [n, 1]);
  return b.op('ScatterND', [base, idx, dOut], { reduction: str('add') });
}
