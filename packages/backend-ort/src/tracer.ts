import type { DType, Tensor } from '@oneshot-em/core';
import type { OrtDeviceSpec } from './device.js';
import type { Executor, HostFn } from './executor.js';
import {
  type Emit,
  type HostData,
  type HostImpl,
  OrtTensor,
  type TraceOp,
  TraceValue,
  traceOp,
  type ValueDType,
} from './graph/trace.js';

/**
 * Where a decode `Loop` body is being traced (generate.ts). The body is traced at a static cache
 * length (`staticStart` = Smax − 1, so every shape is the full cache); the ops that take that
 * length — kvCacheWrite's start and attention's queryOffset — read the Loop's dynamic `cursor`
 * instead, and rope gathers host tables for positions < `positionsLimit`.
 */
export interface LoopBody {
  scope: number;
  staticStart: number;
  /** i32 scalar: the cache row this iteration writes (= its query position index) */
  cursor: TraceValue;
  /** positions in the body are < this (rope tables cover [0, positionsLimit)) */
  positionsLimit: number;
  /** the host cos/sin tables per (theta, D), shared by every rope call of the body */
  ropeTables: Map<string, [OrtTensor, OrtTensor]>;
}

/** The dtype of the weights' compute copy (`--dtype`; ops/convert); 'f32': none. */
export type WeightDtype = 'f32' | 'f16';

export type OutputSpec = {
  shape: readonly number[];
  dtype: ValueDType;
  /** the leading dimension is known only after the run (TraceValue.dynamicRows) */
  dynamicRows?: boolean;
  uploaded?: boolean;
};

/**
 * What every op family (ops/<family>/) traces with: handles over the Executor's values, and the
 * Loop body the trace is in, if any. Immutable: the main trace and each Loop body have their own
 * Tracer over the same Executor (`inLoop`), so no op reads state someone else set.
 */
export class Tracer {
  constructor(
    readonly exec: Executor,
    readonly device: OrtDeviceSpec,
    /** The weights' compute-copy dtype (`--dtype`; ops/convert). */
    readonly weightDtype: WeightDtype = 'f32',
    /** Set when tracing a decode Loop body (generate.ts); null for the main graph. */
    readonly loop: LoopBody | null = null,
  ) {}

  /** The same trace, inside the Loop body `loop`. */
  inLoop(loop: LoopBody): Tracer {
    return new Tracer(this.exec, this.device, this.weightDtype, loop);
  }

  handle(v: TraceValue): OrtTensor {
    return this.exec.handle(v);
  }

  /** A materialised value (a graph input wherever it is used). */
  data(data: HostData, shape: readonly number[]): TraceValue {
    return this.exec.data(data, shape);
  }

  /** A handle on host data (a table; `uploaded`: the caller's data, see TraceValue). */
  hostTensor(data: HostData, shape: readonly number[], uploaded = false): OrtTensor {
    return this.handle(this.exec.data(data, shape, uploaded));
  }

  dispose(t: Tensor): void {
    this.exec.dispose(t);
  }

  /** Re-points an in-place op's target handle to its new value. */
  repoint(t: Tensor, v: TraceValue): void {
    this.exec.repoint(t, v);
  }

  /** Traces a raw op over values (generate.ts builds its Loop with it). */
  values(inputs: readonly TraceValue[], outputs: readonly OutputSpec[], emit: Emit): TraceValue[] {
    return traceOp(inputs, outputs, emit);
  }

  /**
   * Traces one op over handles; returns handles for its outputs. With `host`, an op whose inputs
   * are all on the host already (accumulated gradients, updated weights) is computed now, so
   * the inputs can be released as soon as the caller disposes them.
   */
  trace(
    inputs: readonly Tensor[],
    outputs: readonly OutputSpec[],
    emit: Emit,
    options: { host?: HostImpl; tag?: TraceOp['tag'] } = {},
  ): OrtTensor[] {
    const values = inputs.map(OrtTensor.valueOf);
    const { host } = options;
    if (host && values.every((v) => v.source.kind === 'data')) {
      const outs = host(values.map((v) => (v.source as { data: HostData }).data));
      return outs.map((data, i) => this.hostTensor(data, outputs[i].shape));
    }
    return traceOp(values, outputs, emit, host, options.tag).map((v) => this.handle(v));
  }

  /** `trace` of a one-output op. */
  trace1(
    inputs: readonly Tensor[],
    shape: readonly number[],
    emit: Emit,
    dtype: DType = 'f32',
    host?: HostImpl,
  ): OrtTensor {
    return this.trace(inputs, [{ shape, dtype }], emit, { host })[0];
  }

  /** An op computed on the host once its inputs are (Executor.traceHost). */
  traceHost(
    inputs: readonly (Tensor | TraceValue)[],
    outputs: OutputSpec[],
    run: HostFn,
    inPlace: readonly number[] = [],
  ): TraceValue[] {
    return this.exec.traceHost(inputs, outputs, run, inPlace);
  }

  /**
   * A per-call integer (queryOffset, cache start or length, a slice start) as an i32 scalar graph
   * INPUT rather than a constant: graphs that differ only in it — the steps of a decode loop —
   * are then byte-identical and share one compiled session. Inside the decode Loop the static
   * cache length stands for the Loop's cursor.
   */
  scalarInput(value: number): TraceValue {
    if (this.loop && value === this.loop.staticStart) return this.loop.cursor;
    return this.data(new Int32Array([value]), []);
  }
}

/** A Loop-body input of scope `scope` (generate.ts binds it to the body graph's input). */
export function placeholder(shape: readonly number[], dtype: DType, scope: number): OrtTensor {
  return new OrtTensor(new TraceValue([...shape], dtype, { kind: 'placeholder', scope }, scope));
}
