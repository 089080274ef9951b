import { numel, type RopeOptions, type Tensor } from '@oneshot-em/core';
import type { GraphBuilder } from '../../graph/builder.js';
import { int } from '../../graph/builder.js';
import { OrtTensor, type TraceValue } from '../../graph/trace.js';
import type { Tracer } from '../../tracer.js';
import { emitRope, emitRopeTables, ropeTables } from './rope-graph.js';

/**
 * Host tables per positions array and (theta, headDim): a training step ropes q and k in every
 * layer's forward and backward over the same positions — 4 × layers calls, one pair of tables
 * (and graph inputs) instead of one per call.
 */
const hostTables = new WeakMap<Int32Array, Map<string, [TraceValue, TraceValue]>>();

function tablesFor(
  ctx: Tracer,
  positions: Int32Array,
  opts: RopeOptions,
): [TraceValue, TraceValue] {
  let byKey = hostTables.get(positions);
  if (!byKey) {
    byKey = new Map();
    hostTables.set(positions, byKey);
  }
  const key = `${opts.theta}|${opts.headDim}`;
  let t = byKey.get(key);
  if (!t) {
    const { cos, sin } = ropeTables(positions, opts.theta, opts.headDim);
    const shape = [positions.length, opts.headDim / 2];
    t = [ctx.data(cos, shape), ctx.data(sin, shape)];
    byKey.set(key, t);
  }
  return t;
}

/** Rotary embedding (inverse: its backward). Where the cos/sin tables come from depends on where positions are. */
export function rope(
  ctx: Tracer,
  x: Tensor,
  positions: Tensor,
  opts: RopeOptions,
  inverse: boolean,
): OrtTensor {
  const n = numel(positions.shape);
  const pv = OrtTensor.valueOf(positions);
  const emit = (b: GraphBuilder, xs: readonly { name: string }[], cos: string, sin: string) =>
    b.reshape(
      emitRope(
        b,
        b.reshape(xs[0].name, [n, opts.heads * opts.headDim]),
        cos,
        sin,
        n,
        opts,
        inverse,
      ),
      x.shape,
    );
  if (pv.source.kind !== 'data' && ctx.loop) {
    // Inside the decode Loop: gather rows of f64 host tables covering every position < Smax.
    const { positionsLimit: limit, ropeTables: shared } = ctx.loop;
    const key = `${opts.theta}|${opts.headDim}`;
    let tables = shared.get(key);
    if (!tables) {
      const all = Int32Array.from({ length: limit }, (_, i) => i);
      const { cos, sin } = ropeTables(all, opts.theta, opts.headDim);
      tables = [
        ctx.hostTensor(cos, [limit, opts.headDim / 2]),
        ctx.hostTensor(sin, [limit, opts.headDim / 2]),
      ];
      shared.set(key, tables);
    }
    const [c, s] = tables;
    return ctx.trace1([x, positions, c, s], x.shape, (b, xs) => {
      const gather = (table: string) => b.op('Gather', [table, xs[1].name], { axis: int(0) });
      return [emit(b, xs, gather(xs[2].name), gather(xs[3].name))];
    });
  }
  if (pv.source.kind === 'data') {
    // Known positions: f64 tables on the host, like the reference (the precise path).
    const [c, s] = tablesFor(ctx, pv.source.data as Int32Array, opts).map((v) => ctx.handle(v));
    const out = ctx.trace1([x, c, s], x.shape, (b, xs) => [emit(b, xs, xs[1].name, xs[2].name)]);
    // the traced op keeps the tables; their handles are not the caller's to free
    ctx.dispose(c);
    ctx.dispose(s);
    return out;
  }
  return ctx.trace1([x, positions], x.shape, (b, xs) => {
    const [cos, sin] = emitRopeTables(b, xs[1].name, opts.theta, opts.headDim);
    return [emit(b, xs, cos, sin)];
  });
}
