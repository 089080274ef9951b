/**
 * Tensors above the binding limit (the adapter's maxStorageBufferBindingSize / maxBufferSize,
 * or the backend's `maxBindingBytes` cap) are split along dim 0 into row segments of one
 * buffer each. Segment boundaries fall on multiples of 64 elements where 64 elements' worth
 * of rows fits the limit (every real model: hidden and vocabulary sizes are multiples of 64),
 * so two split tensors of the same element count but different shapes (a [V, C] weight and
 * its flat [V·C] optimizer state) can be walked piece by piece with 256-byte-aligned binding
 * offsets. Otherwise (odd test widths, tiny limits) rows are cut anywhere: row ops (matmul,
 * vocab, embedding, copies) take such tensors, the elementwise walk refuses them by name.
 */
import type { Tensor } from '@oneshot-em/core';
import type { CommandQueue } from './commands.js';
import { DawnTensor, type Segment } from './tensor.js';

/** Elements per 256 bytes: WebGPU's largest minStorageBufferOffsetAlignment. */
const ALIGN_ELEMS = 64;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Rows of dim 0 per segment for a tensor of `shape` (4-byte elements) under `limitBytes`, or
 * undefined when it fits in one buffer. Throws when not even one aligned group of rows fits.
 */
export function rowsPerSegment(shape: readonly number[], limitBytes: number): number | undefined {
  const elems = shape.reduce((a, b) => a * b, 1);
  if (elems * 4 <= limitBytes) return undefined;
  const rows = shape.length === 0 ? 1 : shape[0];
  const width = elems / rows;
  const step = ALIGN_ELEMS / gcd(width, ALIGN_ELEMS); // rows·width stays a multiple of 64
  const aligned = Math.floor(limitBytes / (width * 4) / step) * step;
  if (aligned >= 1) return aligned;
  const per = Math.floor(limitBytes / (width * 4));
  if (per < 1) {
    throw new Error(
      `a tensor [${shape}] (${elems * 4} bytes) exceeds the binding limit of ${limitBytes} bytes, and one of its rows (${width * 4} bytes) does not fit in a segment; raise maxBindingBytes`,
    );
  }
  return per;
}

/** One piece of an elementwise walk: elements [elem0, elem0 + elems), a binding per tensor. */
export interface Piece {
  elem0: number;
  elems: number;
  bindings: GPUBufferBinding[];
}

function segmentAt(segs: Segment[], elem: number): Segment {
  for (const s of segs) if (elem < s.elem0 + s.elems) return s;
  return segs[segs.length - 1];
}

/**
 * The pieces that cover tensors of equal element count with every piece inside one segment of
 * each: the union of their segment boundaries. Each binding is its segment's buffer at the
 * piece's (256-byte-aligned) offset.
 */
export function elementPieces(tensors: readonly Tensor[], what: string): Piece[] {
  const segs = tensors.map((t, i) => DawnTensor.segments(t, `${what} operand ${i}`));
  const n = segs[0].reduce((k, s) => k + s.elems, 0);
  const cuts = new Set<number>([0, n]);
  for (const list of segs) for (const s of list) cuts.add(s.elem0);
  const sorted = [...cuts].filter((c) => c <= n).sort((a, b) => a - b);
  const out: Piece[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [e0, e1] = [sorted[i], sorted[i + 1]];
    if (e1 === e0) continue;
    out.push({
      elem0: e0,
      elems: e1 - e0,
      bindings: segs.map((list, k) => {
        const s = segmentAt(list, e0);
        const offset = (e0 - s.elem0) * 4;
        if (offset % 256 !== 0) {
          throw new Error(
            `${what}: operand ${k} [${tensors[k].shape}] is split at rows that are not 256-byte aligned (rows of ${(tensors[k].shape.length ? s.elems / s.rows : 1) * 4} bytes under a small maxBindingBytes); raise maxBindingBytes`,
          );
        }
        return { buffer: s.buffer, offset, size: (e1 - e0) * 4 };
      }),
    });
  }
  return out;
}

/** Copies elements [from, from + count) of src to [to, to + count) of dst, across segments. */
export function copyElements(
  queue: CommandQueue,
  src: Tensor,
  from: number,
  dst: Tensor,
  to: number,
  count: number,
): void {
  const ss = DawnTensor.segments(src, 'copy source');
  const ds = DawnTensor.segments(dst, 'copy target');
  let done = 0;
  while (done < count) {
    const a = segmentAt(ss, from + done);
    const b = segmentAt(ds, to + done);
    const n = Math.min(
      count - done,
      a.elem0 + a.elems - (from + done),
      b.elem0 + b.elems - (to + done),
    );
    queue.copy(a.buffer, (from + done - a.elem0) * 4, b.buffer, (to + done - b.elem0) * 4, n * 4);
    done += n;
  }
}

/** A dense handle over one segment (rows [row0, row0 + rows)); never disposed by itself. */
export function segmentView(t: Tensor, s: Segment): DawnTensor {
  return new DawnTensor(s.buffer, [s.rows, ...t.shape.slice(1)], t.dtype);
}
