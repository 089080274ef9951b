import type { DType, Tensor } from '@oneshot-em/core';
import type { GraphBuilder } from './builder.js';

/**
 * A traced value's element type: core's, plus f16 for the weights' compute copy (`--dtype f16`,
 * ops/weights.ts), which only the backend's own ops read.
 */
export type ValueDType = DType | 'f16';

/** Host arrays of values: f32, i32, or f16 bit patterns. */
export type HostData = Float32Array | Int32Array | Uint16Array;

/** A lowered value: its ONNX name plus the static shape/dtype emitters need. */
export interface Lowered {
  name: string;
  shape: readonly number[];
  dtype: ValueDType;
}

/** What an emitter may ask of the graph it emits into: the ONNX name of any traced value (lowering.ts). */
export interface ValueNames {
  lower(v: TraceValue): string;
}

/**
 * Emits the ONNX nodes of one traced op into `b` and returns one ONNX name per output.
 * Emitters are pure functions of their inputs' names/shapes and the parameters they close
 * over, so the same trace always gives the same graph bytes. `graph` lowers other values into
 * the same graph (the decode Loop's body reaches the outer graph through it).
 */
export type Emit = (b: GraphBuilder, inputs: readonly Lowered[], graph: ValueNames) => string[];

/** A host implementation of an op over materialised inputs (see Executor.hostEval). */
export type HostImpl = (inputs: readonly HostData[]) => HostData[];

export interface TraceOp {
  readonly inputs: readonly TraceValue[];
  readonly emit: Emit;
  /**
   * Set on cheap elementwise/reduction ops (add, scale, sumSquares): when every input is
   * already on the host, computing there beats feeding the inputs to a graph (on ORT a value
   * on the host is an upload away from the device).
   */
  readonly host?: HostImpl;
  /** What the op is, where a later op fuses with it (dense `add` with embeddingBackward). */
  readonly tag?: 'embeddingBackward';
}

/** Where a value comes from. `data` values are graph inputs; `op` values are recomputed by each run that needs them. */
export type Source =
  | { kind: 'data'; data: HostData }
  | { kind: 'op'; op: TraceOp; index: number }
  | { kind: 'placeholder'; scope: number };

/**
 * One immutable value of the traced program. Materialising an `op` value (after a run reads
 * it) swaps its source to `data` in place; the value itself never changes.
 */
export class TraceValue {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: ValueDType,
    public source: Source,
    /** 0 for the main graph; > 0 when the value depends on a Loop body placeholder. */
    readonly scope: number,
    /** The leading dimension is only known after the run (a Loop's scan output). */
    readonly dynamicRows = false,
    /**
     * An f32 value the host uploaded, or the host optimizer's update of one: the only values
     * that matmul and embedding read through a low-precision compute copy (ops/weights.ts).
     */
    readonly uploaded = false,
  ) {}
  /** Live (undisposed) handles pointing here: the Executor's memory accounting. */
  handles = 0;
  /**
   * This value's compute copy, made at most once (ops/weights.ts): the f16 host value (its
   * bytes count with this value's) and its Cast back to f32, the value ops read.
   */
  computeCopy: { f16: TraceValue; f32: TraceValue } | null = null;
  /** Set on an f16 compute copy: the value it copies. */
  copyOf: TraceValue | null = null;
  /**
   * Set on a host optimizer's updated parameter: its Σ x² ([1] f32), which the update computed
   * in the same pass (ops/optimizer); sumSquares of this value is that, not a second pass.
   */
  sumSquares: TraceValue | null = null;
}

const RELEASED = new Float32Array(0);

/** The handle core sees. The graph value stays private; in-place ops re-point it. */
export class OrtTensor implements Tensor {
  #value: TraceValue;
  disposed = false;
  constructor(value: TraceValue) {
    this.#value = value;
  }
  get shape(): readonly number[] {
    return this.#value.shape;
  }
  get dtype(): DType {
    // handles never point at compute copies, the only f16 values
    return this.#value.dtype as DType;
  }
  static valueOf(t: Tensor): TraceValue {
    if (!(t instanceof OrtTensor))
      throw new Error('ort backend: got a tensor that another backend created');
    if (t.disposed) throw new Error('ort backend: tensor used after dispose()');
    return t.#value;
  }
  static repoint(t: OrtTensor, v: TraceValue): void {
    t.#value = v;
  }
  /**
   * A disposed handle keeps its shape and dtype but drops its value: a stale reference (a
   * suspended async frame's register still held the trainer's last disposed gradient, the
   * 0.5 GB embedding one) must not pin host memory.
   */
  static release(t: OrtTensor): void {
    const v = t.#value;
    t.#value = new TraceValue(v.shape, v.dtype, { kind: 'data', data: RELEASED }, v.scope);
  }
}

/** Appends an op to the trace; returns its output values. */
export function traceOp(
  inputs: readonly TraceValue[],
  outputs: readonly {
    shape: readonly number[];
    dtype: ValueDType;
    dynamicRows?: boolean;
    uploaded?: boolean;
  }[],
  emit: Emit,
  host?: HostImpl,
  tag?: TraceOp['tag'],
): TraceValue[] {
  const op: TraceOp = { inputs, emit, host, tag };
  const scope = inputs.reduce((s, v) => Math.max(s, v.scope), 0);
  return outputs.map(
    (o, index) =>
      new TraceValue(o.shape, o.dtype, { kind: 'op', op, index }, scope, o.dynamicRows, o.uploaded),
  );
}
