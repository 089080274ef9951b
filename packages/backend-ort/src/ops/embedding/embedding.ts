import { numel, type Tensor } from '@oneshot-em/core';
import { OrtTensor } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { computeCopy } from '../convert/convert.js';
import { emitEmbeddingBackward, emitEmbeddingForward } from './embedding-graph.js';

/**
 * Rows of the table. With a compute copy (ops/convert) the rows are gathered from the f16 copy
 * and widened after: only n rows are cast, not the [V, C] table.
 */
export function embeddingForward(ctx: Tracer, ids: Tensor, table: Tensor): OrtTensor {
  const [, C] = table.shape;
  const copy = computeCopy(ctx, OrtTensor.valueOf(table));
  const [out] = ctx.values(
    [OrtTensor.valueOf(ids), copy ? copy.f16 : OrtTensor.valueOf(table)],
    [{ shape: [numel(ids.shape), C], dtype: 'f32' }],
    (b, [i, w]) => {
      const rows = emitEmbeddingForward(b, i.name, w.name);
      return [copy ? b.cast(rows, 'f32') : rows];
    },
  );
  return ctx.handle(out);
}

/** Tagged, so that `add` with it becomes one scatter (scatterEmbeddingGrad). */
export function embeddingBackward(
  ctx: Tracer,
  ids: Tensor,
  dOut: Tensor,
  vocabSize: number,
): OrtTensor {
  const C = dOut.shape[dOut.shape.length - 1];
  const n = numel(ids.shape);
  return ctx.trace(
    [ids, dOut],
    [{ shape: [vocabSize, C], dtype: 'f32' }],
    (b, [i, d]) => [emitEmbeddingBackward(b, i.name, b.reshape(d.name, [n, C]), n, vocabSize, C)],
    { tag: 'embeddingBackward' },
  )[0];
}

/**
 * `add(embeddingBackward(ids, dOut, V), into)` as one scatter into `into` (see
 * emitEmbeddingBackward): at 0.5B the [V, C] zeros and sum were 1 GB of the step's peak. The
 * scatter reads the traced op's own inputs (values, not handles: the caller may dispose dOut
 * before the add, as modelBackward does). Null when `grad` is not an embedding gradient of the
 * same shape.
 */
export function scatterEmbeddingGrad(ctx: Tracer, grad: Tensor, into: Tensor): OrtTensor | null {
  const src = OrtTensor.valueOf(grad).source;
  if (src.kind !== 'op' || src.op.tag !== 'embeddingBackward') return null;
  if (into.dtype !== 'f32' || into.shape.join() !== grad.shape.join()) return null;
  const [ids, dOut] = src.op.inputs;
  const [V, C] = grad.shape;
  const n = numel(ids.shape);
  const [out] = ctx.values(
    [ids, dOut, OrtTensor.valueOf(into)],
    [{ shape: [V, C], dtype: 'f32' }],
    (b, [i, d, x]) => [
      emitEmbeddingBackward(b, i.name, b.reshape(d.name, [n, C]), n, V, C, x.name),
    ],
  );
  return ctx.handle(out);
}
