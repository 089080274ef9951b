import { type GraphBuilder, int } from '../../graph/builder.js';

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
 * A decode step's write: row `cursor` (an i64 scalar in the graph — a fed input, or the Loop's
 * cursor) of cache [B, Smax, X] ← rows [B, 1, X]. ScatterND with indices (b, cursor) touches B
 * rows, and ORT may update the cache buffer in place rather than copy the whole cache.
 */
export function emitKvCacheWriteAt(
  b: GraphBuilder,
  cache: string,
  rows: string,
  dims: { B: number; Smax: number; X: number },
  cursor: string,
): string {
  const batch = b.reshape(
    b.op('Range', [
      b.constant('i64', [0], []),
      b.constant('i64', [dims.B], []),
      b.constant('i64', [1], []),
    ]),
    [dims.B, 1],
  );
  const at = b.op('Expand', [b.reshape(cursor, [1, 1]), b.i64([dims.B, 1])]);
  const indices = b.op('Concat', [batch, at], { axis: int(1) });
  return b.op('ScatterND', [cache, indices, b.reshape(rows, [dims.B, dims.X])]);
}
