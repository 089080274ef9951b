import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DeviceMemory, Tensor, TransferCounter } from '@oneshot-em/core';
import * as ort from 'onnxruntime-node';
import { type OrtDeviceSpec, sessionOptions } from './device.js';
import { GraphBuilder, serializeModel } from './graph/builder.js';
import { Lowering } from './graph/lowering.js';
import {
  type Emit,
  type HostData,
  OrtTensor,
  type TraceOp,
  TraceValue,
  traceOp,
  type ValueDType,
} from './graph/trace.js';

export type { HostData };
/**
 * A host op's body. One traced with `inPlace` indices may update those inputs' arrays and return
 * them as its outputs (the optimizers: no allocation per step); flush hands it a copy instead
 * when anything else still reads the old value.
 */
export type HostFn = (inputs: HostData[]) => HostData[];

/**
 * Compiled graphs kept (least recently used out). A training run needs a few per batch shape
 * (rollout Loop, forward + statistics, backward); batches of many different lengths would
 * otherwise accumulate sessions.
 */
const SESSION_CACHE_SIZE = 48;

/**
 * Host bytes released since the last collection past which a run first collects garbage.
 * `session.run` holds the main thread for the whole run, so V8 cannot collect meanwhile: the
 * previous step's gradients (released arrays, 2 GB at 0.5B) would sit next to the run's own
 * outputs at its peak.
 */
const GC_AFTER_RELEASED_BYTES = 256 * 2 ** 20;

/** V8's full collection (the flag is set at run time), or null where it cannot be had. */
const collectGarbage: (() => void) | null = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
})();

/**
 * Runs the traced program on ONNX Runtime (the backend's ops only trace; see ort-backend.ts).
 *
 * Every op appends to a DAG of immutable `TraceValue`s and returns a handle at once. `read(t)`
 * lowers t (and the values below) into one ONNX graph, compiles it (sessions are cached
 * by the SHA-256 of the graph bytes, which encode structure and static shapes), feeds the
 * materialised values as graph inputs (uploads and earlier results — weights are never
 * initializers, so no 2 GB protobuf limit and no re-serialisation per step), runs it and
 * materialises the outputs.
 *
 * Which values a run returns: t plus every value the caller still holds (live, undisposed
 * handles whose value is still symbolic) — a read is a sync point. So one run computes, e.g.,
 * every parameter gradient at once, and a value is never computed twice: whatever a later
 * graph needs was either kept (and is stored on the host now) or disposed, in which case
 * everything kept that depended on it was computed in the same run. We chose this over
 * activation recomputation (returning only t, recomputing unkept values in later graphs):
 * with recomputation a training step recomputed its forward in the backward graph and,
 * worse, recomputed forward + backward once more for the host optimizer (gradients consumed
 * by the norm's sumSquares are not sinks), and a decode loop recomputed every earlier KV
 * write. The cost is host↔device traffic for kept activations (the forward's saved tensors
 * go to the host after the statistics run and come back as inputs of the backward run).
 *
 * Host ops (accumulate and the optimizers, ops/dense and ops/optimizer) run in trace order once a graph run has computed
 * their inputs; a flush runs them all before its own graph.
 */
export class Executor {
  private readonly counter: TransferCounter = { uploads: 0, reads: 0, bytesUp: 0, bytesDown: 0 };
  private runCount = 0;
  /** Loop-body scopes handed out (0 is the main graph). */
  private scopes = 0;
  /** Bytes of host arrays that live handles point to; the high-water mark (see `memory`). */
  private liveBytes = 0;
  private peakBytes = 0;
  private releasedSinceGc = 0;
  private readonly cache = new Map<string, Promise<ort.InferenceSession>>();
  /** Live handles whose value is still symbolic, in creation order (deterministic output order). */
  private readonly pending = new Set<OrtTensor>();
  /** Host ops (optimizer updates) not yet executed, in trace order. */
  private hostOps: {
    op: TraceOp;
    outputs: TraceValue[];
    run: HostFn;
    inPlace: readonly number[];
  }[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  private lastOpTypes: string[] = [];

  constructor(readonly device: OrtDeviceSpec) {}

  /** A new Loop-body scope number. */
  newScope(): number {
    return ++this.scopes;
  }

  /** A handle for v; main-graph symbolic values join `pending` (Loop-body values never do). */
  handle(v: TraceValue): OrtTensor {
    const t = new OrtTensor(v);
    this.track(v, 1);
    if (v.source.kind === 'op' && v.scope === 0) this.pending.add(t);
    return t;
  }

  /**
   * A handle more (+1) or less (−1) on v; a materialised v counts while it has one, with its
   * compute copy (ops/weights.ts) once that is on the host too.
   */
  private track(v: TraceValue, delta: 1 | -1): void {
    v.handles += delta;
    if (v.source.kind !== 'data') return;
    const copy = v.computeCopy?.f16.source;
    const bytes = v.source.data.byteLength + (copy?.kind === 'data' ? copy.data.byteLength : 0);
    if (delta === 1 && v.handles === 1) this.grow(bytes);
    else if (delta === -1 && v.handles === 0) {
      this.liveBytes -= bytes;
      this.releasedSinceGc += bytes;
    }
  }

  private grow(bytes: number, transient = 0): void {
    this.liveBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes + transient);
  }

  /** v's value is now on the host (a run's output, a host op's or a host evaluation's). */
  private materialise(v: TraceValue, data: HostData): void {
    v.source = { kind: 'data', data };
    const owner = v.copyOf;
    if (v.handles > 0 || (owner && owner.handles > 0 && owner.source.kind === 'data'))
      this.grow(data.byteLength);
  }

  /**
   * Computes v on the host when it is a host-capable op (add, scale, sumSquares) whose inputs
   * are on the host or are host-capable themselves: the gradient norm and the weight check then
   * never feed the gradients or weights to a graph. True when v is materialised afterwards.
   */
  private hostEval(root: TraceValue): boolean {
    const stack = [root];
    while (stack.length > 0) {
      const v = stack[stack.length - 1];
      const src = v.source;
      if (src.kind === 'data') {
        stack.pop();
        continue;
      }
      if (src.kind !== 'op' || !src.op.host || v.scope !== 0) return false;
      const todo = src.op.inputs.filter((x) => x.source.kind !== 'data');
      if (todo.length > 0) {
        for (const x of todo) {
          const xs = x.source;
          if (xs.kind !== 'op' || !xs.op.host) return false;
          stack.push(x);
        }
        continue;
      }
      // host-capable ops have one output
      this.materialise(
        v,
        src.op.host(src.op.inputs.map((x) => (x.source as { data: HostData }).data))[0],
      );
      stack.pop();
    }
    return true;
  }

  /**
   * Live bytes: the host arrays of materialised values that undisposed handles point to
   * (uploads, weights, optimizer state, gradients and whatever a run returned). The peak also
   * counts each run's outputs twice at its end — ORT's buffers and the copies the Node
   * binding makes of them coexist until the run returns. Not visible: ORT's intermediate
   * tensors inside a run (freed when it ends: the CPU arena is off, device.ts), copies that
   * `read` hands to the caller.
   */
  memory(): DeviceMemory {
    return { liveBytes: this.liveBytes, peakBytes: this.peakBytes };
  }
  resetPeakMemory(): void {
    this.peakBytes = this.liveBytes;
  }

  /** A materialised value (a graph input wherever it is used); `uploaded`: see TraceValue. */
  data(data: HostData, shape: readonly number[], uploaded = false): TraceValue {
    const dtype: ValueDType =
      data instanceof Int32Array ? 'i32' : data instanceof Uint16Array ? 'f16' : 'f32';
    return new TraceValue([...shape], dtype, { kind: 'data', data }, 0, false, uploaded);
  }

  /** Re-points an in-place op's target handle to its new value. */
  repoint(t: Tensor, v: TraceValue): void {
    const old = OrtTensor.valueOf(t);
    this.track(v, 1);
    this.track(old, -1);
    OrtTensor.repoint(t as OrtTensor, v);
    if (v.source.kind === 'op' && v.scope === 0) this.pending.add(t as OrtTensor);
    else this.pending.delete(t as OrtTensor);
  }

  /**
   * Traces an op computed on the host once its inputs are (the optimizers); `inPlace` lists the
   * inputs whose arrays `run` may update (see HostFn).
   */
  traceHost(
    inputs: readonly (Tensor | TraceValue)[],
    outputs: { shape: readonly number[]; dtype: ValueDType; uploaded?: boolean }[],
    run: HostFn,
    inPlace: readonly number[] = [],
  ): TraceValue[] {
    const emit: Emit = () => {
      throw new Error('ort backend (internal): a host op reached graph lowering before it ran');
    };
    const ins = inputs.map((x) => (x instanceof TraceValue ? x : OrtTensor.valueOf(x)));
    const values = traceOp(ins, outputs, emit);
    const src = values[0].source;
    if (src.kind !== 'op') throw new Error('unreachable');
    this.hostOps.push({ op: src.op, outputs: values, run, inPlace });
    return values;
  }

  /**
   * Materialised values that something will still read after the host ops of this flush pass:
   * the cones of live symbolic values (down to their materialised leaves) and every pending host
   * op's inputs, counted per op. An in-place host op may overwrite an input only when the op
   * itself is its one reader (see flush).
   */
  private laterReaders(): Map<TraceValue, number> {
    const readers = new Map<TraceValue, number>();
    const seen = new Set<TraceValue>();
    const stack: TraceValue[] = [];
    const hostOps = new Set(this.hostOps.map((h) => h.op));
    for (const t of this.pending) {
      if (!t.disposed) stack.push(OrtTensor.valueOf(t));
    }
    for (const h of this.hostOps) {
      for (const x of new Set(h.op.inputs)) {
        if (x.source.kind === 'data') readers.set(x, (readers.get(x) ?? 0) + 1);
        else stack.push(x);
      }
    }
    while (stack.length > 0) {
      const v = stack.pop() as TraceValue;
      if (seen.has(v)) continue;
      seen.add(v);
      if (v.source.kind === 'data') readers.set(v, Number.POSITIVE_INFINITY);
      // A host op's own inputs are counted above, once per op.
      else if (v.source.kind === 'op' && !hostOps.has(v.source.op))
        stack.push(...v.source.op.inputs);
    }
    return readers;
  }

  /**
   * The compiled session of a graph, by SHA-256 of its bytes (structure + static shapes), least
   * recently used first out past SESSION_CACHE_SIZE. Only called inside `exclusive`, so an
   * evicted session is never mid-run.
   */
  private async session(bytes: Uint8Array): Promise<ort.InferenceSession> {
    const key = createHash('sha256').update(bytes).digest('hex');
    let s = this.cache.get(key);
    if (s) {
      this.cache.delete(key);
      this.cache.set(key, s);
      return s;
    }
    s = ort.InferenceSession.create(bytes, sessionOptions(this.device));
    this.cache.set(key, s);
    if (this.cache.size > SESSION_CACHE_SIZE) {
      const [oldestKey, oldest] = this.cache.entries().next().value as [
        string,
        Promise<ort.InferenceSession>,
      ];
      this.cache.delete(oldestKey);
      await (await oldest).release();
    }
    return s;
  }

  /** Serialises work on the trace: one flush at a time, in call order. */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * True when v cannot be computed by a graph yet: its cone holds an unexecuted host op.
   * Iterative (graphs are thousands of ops deep); `memo` is shared within one flush step.
   */
  private blocked(root: TraceValue, memo: Map<TraceValue, boolean>): boolean {
    const hostOps = new Set(this.hostOps.map((h) => h.op));
    const stack = [root];
    while (stack.length > 0) {
      const v = stack[stack.length - 1];
      const src = v.source;
      if (memo.has(v) || src.kind !== 'op') {
        if (!memo.has(v)) memo.set(v, false);
        stack.pop();
        continue;
      }
      if (hostOps.has(src.op)) {
        memo.set(v, true);
        stack.pop();
        continue;
      }
      const unknown = src.op.inputs.filter((x) => !memo.has(x));
      if (unknown.length > 0) {
        stack.push(...unknown);
        continue;
      }
      memo.set(
        v,
        src.op.inputs.some((x) => memo.get(x)),
      );
      stack.pop();
    }
    return memo.get(root) as boolean;
  }

  /** Materialises `targets`: executes pending host ops (graph runs for their inputs first), then one run for the rest. */
  private async flush(targets: readonly TraceValue[]): Promise<void> {
    while (this.hostOps.length > 0) {
      const memo = new Map<TraceValue, boolean>();
      const wanted = new Set<TraceValue>();
      for (const h of this.hostOps) {
        for (const x of h.op.inputs)
          if (x.source.kind === 'op' && !this.blocked(x, memo)) wanted.add(x);
      }
      if (wanted.size > 0) await this.run([...wanted], memo);
      const still: typeof this.hostOps = [];
      let progressed = false;
      const readers = this.hostOps.some((h) => h.inPlace.length > 0) ? this.laterReaders() : null;
      for (const h of this.hostOps) {
        const inputs = h.op.inputs.map((x) => (x.source.kind === 'data' ? x.source.data : null));
        if (inputs.every((x) => x !== null)) {
          for (const i of h.inPlace) {
            // Someone else still reads the old value: the op updates a copy.
            if ((readers?.get(h.op.inputs[i]) ?? 0) > 1)
              inputs[i] = (inputs[i] as HostData).slice();
          }
          const outs = h.run(inputs as HostData[]);
          h.outputs.forEach((v, i) => {
            this.materialise(v, outs[i]);
          });
          progressed = true;
        } else still.push(h);
      }
      this.hostOps = still;
      if (!progressed && wanted.size === 0)
        throw new Error('ort backend (internal): host ops cannot make progress');
    }
    const rest = targets.filter((v) => v.source.kind === 'op' && !this.hostEval(v));
    if (rest.length > 0) await this.run(rest, new Map());
    this.prunePending();
  }

  private prunePending(): void {
    for (const t of this.pending) {
      if (t.disposed || OrtTensor.valueOf(t).source.kind === 'data') this.pending.delete(t);
    }
  }

  /** One session.run computing `wanted` plus every live symbolic value that is ready. */
  private async run(wanted: readonly TraceValue[], memo: Map<TraceValue, boolean>): Promise<void> {
    const outputs = wanted.filter((v) => !this.hostEval(v));
    const seen = new Set(outputs);
    for (const t of this.pending) {
      if (t.disposed) continue;
      const v = OrtTensor.valueOf(t);
      if (v.source.kind !== 'op' || v.scope !== 0 || seen.has(v) || this.hostEval(v)) continue;
      if (!this.blocked(v, memo)) {
        seen.add(v);
        outputs.push(v);
      }
    }
    if (outputs.length === 0) return;
    const b = new GraphBuilder();
    const lowering = new Lowering(b);
    const used = new Set<string>();
    const names = outputs.map((v) => {
      let name = lowering.lower(v);
      // A graph output must be a fresh name: not an input, not another output.
      if (used.has(name) || lowering.feeds.some((f) => f.name === name))
        name = b.op('Identity', [name]);
      used.add(name);
      b.addOutput(name, v.dtype, v.dynamicRows ? null : v.shape);
      return name;
    });
    const bytes = serializeModel(b);
    this.lastOpTypes = b.nodes.map((n) => n.opType ?? '');
    const session = await this.session(bytes);
    const feeds: Record<string, ort.Tensor> = {};
    for (const { name, value } of lowering.feeds) {
      if (value.source.kind !== 'data') throw new Error('unreachable');
      // onnxruntime-node rejects shared memory (the host optimizer keeps Adam moments there).
      const data =
        value.source.data.buffer instanceof SharedArrayBuffer
          ? value.source.data.slice()
          : value.source.data;
      feeds[name] = feedTensor(data, value.shape);
      this.counter.uploads++;
      this.counter.bytesUp += data.byteLength;
    }
    if (collectGarbage && this.releasedSinceGc > GC_AFTER_RELEASED_BYTES) {
      collectGarbage();
      this.releasedSinceGc = 0;
    }
    const results = await session.run(feeds);
    this.runCount++;
    let outBytes = 0;
    outputs.forEach((v, i) => {
      const data = results[names[i]].data as HostData;
      this.counter.reads++;
      this.counter.bytesDown += data.byteLength;
      outBytes += data.byteLength;
      this.materialise(v, data);
    });
    this.grow(0, outBytes);
  }

  transfers(): TransferCounter {
    return { ...this.counter };
  }
  runs(): number {
    return this.runCount;
  }
  sessions(): number {
    return this.cache.size;
  }
  /** Op types of the main graph of the last run (tests check that generation is one Loop). */
  lastGraphOpTypes(): readonly string[] {
    return this.lastOpTypes;
  }
  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const v = OrtTensor.valueOf(t);
    await this.exclusive(() => this.flush([v]));
    if (v.source.kind !== 'data')
      throw new Error('ort backend (internal): read did not materialise its target');
    return v.source.data.slice() as Float32Array | Int32Array;
  }
  /** Runs the pending host ops and computes every live value (one run, if anything is pending). */
  async sync(): Promise<void> {
    await this.exclusive(() => {
      const live = [...this.pending].filter((t) => !t.disposed).map((t) => OrtTensor.valueOf(t));
      return this.flush(live);
    });
  }
  dispose(t: Tensor): void {
    if (!(t instanceof OrtTensor))
      throw new Error('ort backend: dispose of a tensor that another backend created');
    if (t.disposed) return;
    this.track(OrtTensor.valueOf(t), -1);
    t.disposed = true;
    this.pending.delete(t);
    OrtTensor.release(t);
  }
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.queue;
    for (const s of this.cache.values()) await (await s.catch(() => null))?.release();
    this.cache.clear();
    this.pending.clear();
    this.hostOps = [];
  }
}

function feedTensor(data: HostData, shape: readonly number[]): ort.Tensor {
  const dims = [...shape];
  if (data instanceof Int32Array) return new ort.Tensor('int32', data, dims);
  if (data instanceof Uint16Array) return new ort.Tensor('float16', data, dims);
  return new ort.Tensor('float32', data, dims);
}
