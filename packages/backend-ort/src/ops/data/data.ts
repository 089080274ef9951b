import { numel, type Tensor } from '@oneshot-em/core';
import { int } from '../../graph/builder.js';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';

/** Host data as a graph input (copied: the caller keeps its array); f32 data may be a weight (ops/convert). */
export function upload(
  ctx: Tracer,
  data: Float32Array | Int32Array,
  shape: readonly number[],
): OrtTensor {
  if (data.length !== numel(shape))
    throw new Error(`upload: ${data.length} values do not fill shape [${shape}]`);
  return ctx.hostTensor(data.slice(), shape, data instanceof Float32Array);
}

export function zeros(ctx: Tracer, shape: readonly number[], dtype: 'f32' | 'i32'): OrtTensor {
  const n = numel(shape);
  return ctx.hostTensor(dtype === 'i32' ? new Int32Array(n) : new Float32Array(n), shape);
}

export function sliceRows(ctx: Tracer, x: Tensor, start: number, count: number): OrtTensor {
  const rows = x.shape[0];
  if (start < 0 || count < 0 || start + count > rows) {
    throw new Error(
      `sliceRows: rows [${start}, ${start + count}) outside [0, ${rows}) of [${x.shape}]`,
    );
  }
  // All rows: the value itself (values are immutable). The chunked head slices its one chunk
  // in the forward and again in the backward; fed the same value, the two logits Gemms are one
  // node after ONNX Runtime's common-subexpression elimination, not a recomputation.
  if (start === 0 && count === rows) return ctx.handle(OrtTensor.valueOf(x));
  // The start is an input (a decode loop slices row t of its uniforms every step).
  const out = [{ shape: [count, ...x.shape.slice(1)], dtype: x.dtype }];
  const [slice] = ctx.values([OrtTensor.valueOf(x), ctx.scalarInput(start)], out, (b, [i, at]) => {
    const from = b.reshape(b.cast(at.name, 'i64'), [1]);
    const to = b.op('Add', [from, b.i64([count])]);
    return [b.op('Slice', [i.name, from, to, b.i64([0])])];
  });
  return ctx.handle(slice);
}

export function concatRows(ctx: Tracer, parts: readonly Tensor[]): OrtTensor {
  if (parts.length === 0) throw new Error('concatRows: no parts');
  const [first] = parts;
  const tail = first.shape.slice(1);
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.slice(1).join() !== tail.join()) {
      throw new Error(
        `concatRows: part [${p.shape}] ${p.dtype} does not match [${first.shape}] ${first.dtype}`,
      );
    }
  }
  const rows = parts.reduce((n, p) => n + p.shape[0], 0);
  return ctx.trace1(
    parts,
    [rows, ...tail],
    (b, xs) => [
      xs.length === 1
        ? b.op('Identity', [xs[0].name])
        : b.op(
            'Concat',
            xs.map((x) => x.name),
            { axis: int(0) },
          ),
    ],
    first.dtype,
  );
}
