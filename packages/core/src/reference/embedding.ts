import type { Floats, Ints } from './storage.js';

/** out [N, C] ← table [V, C] rows at ids [N]. */
export function embeddingForward(
  out: Floats,
  ids: Ints,
  table: Floats,
  C: number,
  V: number,
): void {
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (id < 0 || id >= V)
      throw new Error(`embeddingForward: id ${id} at position ${n} is outside [0, ${V})`);
    out.set(table.subarray(id * C, (id + 1) * C), n * C);
  }
}

/** dTable [V, C] += dOut [N, C] rows scattered to ids [N] (accumulates; pass zeros for a fresh grad). */
export function embeddingBackward(dTable: Floats, ids: Ints, dOut: Floats, C: number): void {
  for (let n = 0; n < ids.length; n++) {
    const row = ids[n] * C;
    for (let c = 0; c < C; c++) dTable[row + c] += dOut[n * C + c];
  }
}
