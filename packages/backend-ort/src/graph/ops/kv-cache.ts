import { type GraphBuilder, int } from '../builder.js';

/** cache [B, Smax, X] with rows [start, start + T) replaced by rows [B, T, X] (Concat of slices). */
export function emitKvCacheWrite(
  b: GraphBuilder,
  cache: string,
  rows: string,
  dims: { B: number; Smax: number; X: number; T: number },
  start: number,
): string {
  const parts: string[] = [];
  if (start > 0) parts.push(b.slice(cache, 1, 0, start));
  parts.push(b.reshape(rows, [dims.B, dims.T, dims.X]));
  if (start + dims.T < dims.Smax) parts.push(b.slice(cache, 1, start + dims.T, dims.Smax));
  return parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis: int(1) });
}

/**
 * The decode Loop's write: row `cursor` (an i64 scalar in the graph) of cache [B, Smax, X]
 * ← rows [B, 1, X], as a Where over a one-hot of the cursor (the position is dynamic).
 */
export function emitKvCacheWriteAt(
  b: GraphBuilder,
  cache: string,
  rows: string,
  dims: { B: number; Smax: number; X: number },
  cursor: string,
): string {
  const s = b.op('Range', [
    b.constant('i64', [0], []),
    b.constant('i64', [dims.Smax], []),
    b.constant('i64', [1], []),
  ]);
  const hit = b.reshape(b.op('Equal', [s, cursor]), [1, dims.Smax, 1]);
  return b.op('Where', [hit, b.reshape(rows, [dims.B, 1, dims.X]), cache]);
}
