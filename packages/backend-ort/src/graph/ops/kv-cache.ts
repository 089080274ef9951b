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
