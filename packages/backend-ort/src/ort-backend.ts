import { createHash } from 'node:crypto';
import {
  type AdamWParams,
  type AttentionOptions,
  type Backend,
  type DType,
  type GenerateOptions,
  type GenerateResult,
  type ModelConfig,
  type ModelWeights,
  numel,
  type RopeOptions,
  type SamplingParams,
  type SgdParams,
  type Tensor,
  type TransferCounter,
  type VocabStatName,
} from '@oneshot-em/core';
import * as ort from 'onnxruntime-node';
import {
  cudaUnavailableMessage,
  deviceName,
  type OrtDevice,
  type OrtDeviceSpec,
  parseDevice,
  sessionOptions,
} from './device.js';
import { fusedGenerate } from './generate.js';
import { GraphBuilder, int, serializeModel } from './graph/builder.js';
import { Lowering } from './graph/lowering.js';
import { emitAttentionBackward, emitAttentionForward } from './graph/ops/attention.js';
import { emitMatmul, emitScale, emitSumRows, emitSumSquares } from './graph/ops/dense.js';
import { emitEmbeddingBackward, emitEmbeddingForward } from './graph/ops/embedding.js';
import { emitKvCacheWrite, emitKvCacheWriteAt } from './graph/ops/kv-cache.js';
import { emitRmsnormBackward, emitRmsnormForward } from './graph/ops/rmsnorm.js';
import { emitRope, emitRopeTables, ropeTables } from './graph/ops/rope.js';
import { emitMarkPresent, emitSample } from './graph/ops/sample.js';
import { emitSwigluBackward, emitSwigluForward } from './graph/ops/swiglu.js';
import { emitVocabGrad, emitVocabStats } from './graph/ops/vocab.js';
import { type Emit, OrtTensor, type TraceOp, TraceValue, traceOp } from './graph/trace.js';
import { adamwHost, sgdHost } from './optimizers.js';

export interface OrtBackendOptions {
  /** 'cpu' (default), 'cuda' (= cuda:0) or 'cuda:N'. */
  device?: OrtDevice | string;
  /**
   * Bytes of GPU memory the CUDA EP may use. onnxruntime-node's binding forwards only
   * `deviceId` to the CUDA EP, so a limit cannot be passed through; setting it is an error
   * rather than a silent no-op.
   */
  cudaMemoryLimit?: number;
}

export interface OrtBackend extends Backend {
  readonly kind: 'ort';
  /** Number of `InferenceSession.run` calls so far (the Loop test counts them). */
  runs(): number;
  /** Number of compiled graphs held (the session cache, bounded LRU). */
  sessions(): number;
  /** Op types of the main graph of the last run (tests check that generation is one Loop). */
  lastGraphOpTypes(): readonly string[];
  /**
   * Core's `generate` (same request and result), fused: prefill + a decode `Loop` with
   * on-device sampling in one graph, one `session.run` per call (generate.ts).
   */
  generate(
    config: ModelConfig,
    weights: ModelWeights,
    request: GenerateOptions,
  ): Promise<GenerateResult>;
}

type HostData = Float32Array | Int32Array;

/**
 * Compiled graphs kept. A training run needs a handful (forward+stats, forward+backward per
 * batch shape; the generation Loop); the generic per-token decode path compiles one per cache
 * length, which the bound keeps from accumulating.
 */
const SESSION_CACHE_SIZE = 48;

export interface LoopBodyContext {
  scope: number;
  staticStart: number;
  /** i32 scalar: the cache row this iteration writes (= its query position index) */
  cursor: TraceValue;
  /** positions in the body are < this (rope tables cover [0, positionsLimit)) */
  positionsLimit: number;
}
type HostFn = (inputs: HostData[]) => HostData[];

/**
 * ONNX Runtime executor of core's `TensorOps`, by tracing.
 *
 * Every op appends to a DAG of immutable `TraceValue`s and returns a handle at once. `read(t)`
 * lowers the part of the DAG that t needs into one ONNX graph, compiles it (sessions are cached
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
 * In-place ops (kvCacheWrite, markPresent, adamwUpdate, sgdUpdate) re-point the handle to a new
 * value. The optimizers are host ops: see optimizers.ts for where and why.
 */
export class OrtBackendImpl implements OrtBackend {
  readonly kind = 'ort' as const;
  readonly name: string;
  private readonly counter: TransferCounter = { uploads: 0, reads: 0, bytesUp: 0, bytesDown: 0 };
  private runCount = 0;
  private readonly cache = new Map<string, Promise<ort.InferenceSession>>();
  /** Live handles whose value is still symbolic, in creation order (deterministic sink order). */
  private readonly pending = new Set<OrtTensor>();
  /** Host ops (optimizer updates) not yet executed, in trace order. */
  private hostOps: { op: TraceOp; outputs: TraceValue[]; run: HostFn }[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  private scopes = 0;
  private lastOpTypes: string[] = [];
  /**
   * Set while generate.ts traces core's decode step into a Loop body. The body is traced at a
   * static cache length (`staticStart` = Smax − 1, so every shape is the full cache); the ops
   * that take that length — kvCacheWrite's start and attention's queryOffset — read the
   * Loop's dynamic `cursor` instead, and rope gathers host tables for positions < Smax.
   */
  loopBody: LoopBodyContext | null = null;

  constructor(readonly device: OrtDeviceSpec) {
    this.name = `ort(${deviceName(device)})`;
  }

  // ---- machinery ---------------------------------------------------------------------

  /** A handle for v; main-graph symbolic values join `pending` (Loop-body values never do). */
  handle(v: TraceValue): OrtTensor {
    const t = new OrtTensor(v);
    if (v.source.kind === 'op' && v.scope === 0) this.pending.add(t);
    return t;
  }

  /** A Loop-body input of a new scope (generate.ts binds it to the body graph's input). */
  placeholder(shape: readonly number[], dtype: DType, scope: number): OrtTensor {
    return new OrtTensor(new TraceValue([...shape], dtype, { kind: 'placeholder', scope }, scope));
  }

  newScope(): number {
    return ++this.scopes;
  }

  /** Op types of the main graph of the last run (tests check that generation is one Loop). */
  lastGraphOpTypes(): readonly string[] {
    return this.lastOpTypes;
  }

  /** Traces a raw op (generate.ts builds its Loop with it). */
  traceValues(
    inputs: readonly TraceValue[],
    outputs: { shape: readonly number[]; dtype: DType; dynamicRows?: boolean }[],
    emit: Emit,
  ): TraceValue[] {
    return traceOp(inputs, outputs, emit);
  }

  private data(data: HostData, shape: readonly number[]): TraceValue {
    const dtype: DType = data instanceof Int32Array ? 'i32' : 'f32';
    return new TraceValue([...shape], dtype, { kind: 'data', data }, 0);
  }

  /** Traces one op over handles; returns handles for its outputs. */
  private trace(
    inputs: readonly Tensor[],
    outputs: { shape: readonly number[]; dtype: DType }[],
    emit: Emit,
  ): OrtTensor[] {
    return traceOp(inputs.map(OrtTensor.valueOf), outputs, emit).map((v) => this.handle(v));
  }

  private trace1(
    inputs: readonly Tensor[],
    shape: readonly number[],
    emit: Emit,
    dtype: DType = 'f32',
  ): OrtTensor {
    return this.trace(inputs, [{ shape, dtype }], emit)[0];
  }

  /** Re-points an in-place op's target handle to its new value. */
  private repoint(t: Tensor, v: TraceValue): void {
    OrtTensor.valueOf(t);
    OrtTensor.repoint(t as OrtTensor, v);
    if (v.source.kind === 'op' && v.scope === 0) this.pending.add(t as OrtTensor);
    else this.pending.delete(t as OrtTensor);
  }

  private traceHost(
    inputs: readonly Tensor[],
    outputs: { shape: readonly number[]; dtype: DType }[],
    run: HostFn,
  ): TraceValue[] {
    const emit: Emit = () => {
      throw new Error('ort backend (internal): a host op reached graph lowering before it ran');
    };
    const values = traceOp(inputs.map(OrtTensor.valueOf), outputs, emit);
    const src = values[0].source;
    if (src.kind !== 'op') throw new Error('unreachable');
    this.hostOps.push({ op: src.op, outputs: values, run });
    return values;
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

  /** True when v cannot be computed by a graph yet (its cone holds an unexecuted host op). */
  private blocked(v: TraceValue, memo: Map<TraceValue, boolean>): boolean {
    const src = v.source;
    if (src.kind !== 'op') return false;
    const known = memo.get(v);
    if (known !== undefined) return known;
    const isHost = this.hostOps.some((h) => h.op === src.op);
    const result = isHost || src.op.inputs.some((x) => this.blocked(x, memo));
    memo.set(v, result);
    return result;
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
      for (const h of this.hostOps) {
        const inputs = h.op.inputs.map((x) => (x.source.kind === 'data' ? x.source.data : null));
        if (inputs.every((x) => x !== null)) {
          const outs = h.run(inputs as HostData[]);
          h.outputs.forEach((v, i) => {
            v.source = { kind: 'data', data: outs[i] };
          });
          progressed = true;
        } else still.push(h);
      }
      this.hostOps = still;
      if (!progressed && wanted.size === 0)
        throw new Error('ort backend (internal): host ops cannot make progress');
    }
    const rest = targets.filter((v) => v.source.kind === 'op');
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
    const outputs = [...wanted];
    const seen = new Set(outputs);
    for (const t of this.pending) {
      if (t.disposed) continue;
      const v = OrtTensor.valueOf(t);
      if (v.source.kind === 'op' && v.scope === 0 && !seen.has(v) && !this.blocked(v, memo)) {
        seen.add(v);
        outputs.push(v);
      }
    }
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
      const data = value.source.data;
      feeds[name] = new ort.Tensor(data instanceof Int32Array ? 'int32' : 'float32', data, [
        ...value.shape,
      ]);
      this.counter.uploads++;
      this.counter.bytesUp += data.byteLength;
    }
    const results = await session.run(feeds);
    this.runCount++;
    outputs.forEach((v, i) => {
      const data = results[names[i]].data as HostData;
      this.counter.reads++;
      this.counter.bytesDown += data.byteLength;
      v.source = { kind: 'data', data };
    });
  }

  // ---- Backend -----------------------------------------------------------------------

  transfers(): TransferCounter {
    return { ...this.counter };
  }
  runs(): number {
    return this.runCount;
  }
  sessions(): number {
    return this.cache.size;
  }
  generate(
    config: ModelConfig,
    weights: ModelWeights,
    request: GenerateOptions,
  ): Promise<GenerateResult> {
    return fusedGenerate(this, config, weights, request);
  }
  /** Runs the pending host ops and computes every live value (one run, if anything is pending). */
  async sync(): Promise<void> {
    await this.exclusive(() => {
      const live = [...this.pending].filter((t) => !t.disposed).map((t) => OrtTensor.valueOf(t));
      return this.flush(live);
    });
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

  // ---- data movement -----------------------------------------------------------------

  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    if (data.length !== numel(shape))
      throw new Error(`upload: ${data.length} values do not fill shape [${shape}]`);
    return this.handle(this.data(data.slice(), shape));
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    return this.handle(this.data(dtype === 'i32' ? new Int32Array(n) : new Float32Array(n), shape));
  }
  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const v = OrtTensor.valueOf(t);
    await this.exclusive(() => this.flush([v]));
    if (v.source.kind !== 'data')
      throw new Error('ort backend (internal): read did not materialise its target');
    return v.source.data.slice();
  }
  dispose(t: Tensor): void {
    if (!(t instanceof OrtTensor))
      throw new Error('ort backend: dispose of a tensor that another backend created');
    t.disposed = true;
    this.pending.delete(t);
  }
  sliceRows(x: Tensor, start: number, count: number): Tensor {
    const rows = x.shape[0];
    if (start < 0 || count < 0 || start + count > rows) {
      throw new Error(
        `sliceRows: rows [${start}, ${start + count}) outside [0, ${rows}) of [${x.shape}]`,
      );
    }
    // The start is an input (a decode loop slices row t of its uniforms every step).
    const out = [{ shape: [count, ...x.shape.slice(1)], dtype: x.dtype }];
    const [slice] = traceOp([OrtTensor.valueOf(x), this.scalarInput(start)], out, (b, [i, at]) => {
      const from = b.reshape(b.cast(at.name, 'i64'), [1]);
      const to = b.op('Add', [from, b.i64([count])]);
      return [b.op('Slice', [i.name, from, to, b.i64([0])])];
    });
    return this.handle(slice);
  }
  concatRows(parts: readonly Tensor[]): Tensor {
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
    return this.trace1(
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

  // ---- embedding ---------------------------------------------------------------------

  embeddingForward(ids: Tensor, table: Tensor): Tensor {
    const [, C] = table.shape;
    return this.trace1([ids, table], [numel(ids.shape), C], (b, [i, w]) => [
      emitEmbeddingForward(b, i.name, w.name),
    ]);
  }
  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    const C = dOut.shape[dOut.shape.length - 1];
    const n = numel(ids.shape);
    return this.trace1([ids, dOut], [vocabSize, C], (b, [i, d]) => [
      emitEmbeddingBackward(b, i.name, b.reshape(d.name, [n, C]), n, vocabSize, C),
    ]);
  }

  // ---- dense -------------------------------------------------------------------------

  matmul(a: Tensor, w: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
    const transA = opts.transA ?? false;
    const transB = opts.transB ?? false;
    const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [Kb, N] = transB ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
    if (a.shape.length !== 2 || w.shape.length !== 2 || K !== Kb) {
      throw new Error(
        `matmul: op(a) of [${a.shape}] (transA ${transA}) and op(b) of [${w.shape}] (transB ${transB}) do not chain`,
      );
    }
    return this.trace1([a, w], [M, N], (b, [x, y]) => [
      emitMatmul(b, x.name, y.name, transA, transB),
    ]);
  }
  add(a: Tensor, c: Tensor): Tensor {
    if (numel(a.shape) !== numel(c.shape))
      throw new Error(`add: shapes [${a.shape}] and [${c.shape}] differ`);
    return this.trace1([a, c], a.shape, (b, [x, y]) => [
      b.op('Add', [x.name, b.reshape(y.name, a.shape)]),
    ]);
  }
  scale(x: Tensor, s: number): Tensor {
    return this.trace1([x], x.shape, (b, [i]) => [emitScale(b, i.name, s)]);
  }
  addBias(x: Tensor, bias: Tensor): Tensor {
    if (x.shape[x.shape.length - 1] !== bias.shape[0])
      throw new Error(`addBias: x [${x.shape}] vs bias [${bias.shape}]`);
    return this.trace1([x, bias], x.shape, (b, [i, c]) => [b.op('Add', [i.name, c.name])]);
  }
  sumRows(x: Tensor): Tensor {
    const C = x.shape[x.shape.length - 1];
    return this.trace1([x], [C], (b, [i]) => [emitSumRows(b, b.reshape(i.name, [-1, C]))]);
  }
  sumSquares(x: Tensor): Tensor {
    return this.trace1([x], [1], (b, [i]) => [emitSumSquares(b, i.name)]);
  }

  // ---- rmsnorm -----------------------------------------------------------------------

  rmsnormForward(x: Tensor, weight: Tensor, eps: number): { out: Tensor; rstd: Tensor } {
    const C = weight.shape[0];
    const n = numel(x.shape) / C;
    const [out, rstd] = this.trace(
      [x, weight],
      [
        { shape: x.shape, dtype: 'f32' },
        { shape: [n], dtype: 'f32' },
      ],
      (b, [i, w]) => {
        const [o, r] = emitRmsnormForward(b, b.reshape(i.name, [n, C]), w.name, eps, n);
        return [b.reshape(o, x.shape), r];
      },
    );
    return { out, rstd };
  }
  rmsnormBackward(
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    dOut: Tensor,
  ): { dInput: Tensor; dWeight: Tensor } {
    const C = weight.shape[0];
    const n = numel(x.shape) / C;
    const [dInput, dWeight] = this.trace(
      [x, weight, rstd, dOut],
      [
        { shape: x.shape, dtype: 'f32' },
        { shape: weight.shape, dtype: 'f32' },
      ],
      (b, [i, w, r, d]) => {
        const [dx, dw] = emitRmsnormBackward(
          b,
          b.reshape(i.name, [n, C]),
          w.name,
          r.name,
          b.reshape(d.name, [n, C]),
          n,
        );
        return [b.reshape(dx, x.shape), dw];
      },
    );
    return { dInput, dWeight };
  }

  // ---- rope --------------------------------------------------------------------------

  private rope(x: Tensor, positions: Tensor, opts: RopeOptions, inverse: boolean): Tensor {
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
    if (pv.source.kind !== 'data' && this.loopBody) {
      // Inside the decode Loop: gather rows of f64 host tables covering every position < Smax.
      const limit = this.loopBody.positionsLimit;
      const all = Int32Array.from({ length: limit }, (_, i) => i);
      const { cos, sin } = ropeTables(all, opts.theta, opts.headDim);
      const c = this.handle(this.data(cos, [limit, opts.headDim / 2]));
      const s = this.handle(this.data(sin, [limit, opts.headDim / 2]));
      return this.trace1([x, positions, c, s], x.shape, (b, xs) => {
        const gather = (table: string) => b.op('Gather', [table, xs[1].name], { axis: int(0) });
        return [emit(b, xs, gather(xs[2].name), gather(xs[3].name))];
      });
    }
    if (pv.source.kind === 'data') {
      // Known positions: f64 tables on the host, like the reference (the precise path).
      const { cos, sin } = ropeTables(pv.source.data as Int32Array, opts.theta, opts.headDim);
      const c = this.handle(this.data(cos, [n, opts.headDim / 2]));
      const s = this.handle(this.data(sin, [n, opts.headDim / 2]));
      return this.trace1([x, c, s], x.shape, (b, xs) => [emit(b, xs, xs[1].name, xs[2].name)]);
    }
    return this.trace1([x, positions], x.shape, (b, xs) => {
      const [cos, sin] = emitRopeTables(b, xs[1].name, opts.theta, opts.headDim);
      return [emit(b, xs, cos, sin)];
    });
  }
  ropeForward(x: Tensor, positions: Tensor, opts: RopeOptions): Tensor {
    return this.rope(x, positions, opts, false);
  }
  ropeBackward(dOut: Tensor, positions: Tensor, opts: RopeOptions): Tensor {
    return this.rope(dOut, positions, opts, true);
  }

  // ---- attention ---------------------------------------------------------------------

  private attentionDims(q: Tensor, keyMask: Tensor, o: AttentionOptions) {
    const [B, S] = keyMask.shape;
    const T = numel(q.shape) / (B * o.heads * o.headDim);
    if (!Number.isInteger(T) || o.heads % o.kvHeads !== 0) {
      throw new Error(
        `attention: q [${q.shape}] with keyMask [${keyMask.shape}] and heads ${o.heads}/${o.kvHeads}×${o.headDim} do not fit`,
      );
    }
    return { B, S, T };
  }
  /**
   * A per-call integer (queryOffset, cache start or length) as an i32 scalar graph INPUT rather
   * than a constant: graphs that differ only in it — the steps of a decode loop — are then
   * byte-identical and share one compiled session. Inside the decode Loop it is the cursor.
   */
  private scalarInput(value: number): TraceValue {
    const loop = this.loopBody;
    if (loop && value === loop.staticStart) return loop.cursor;
    return this.data(new Int32Array([value]), []);
  }

  attentionForward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor,
    opts: AttentionOptions,
  ): { out: Tensor; lse: Tensor } {
    const dims = this.attentionDims(q, keyMask, opts);
    const inputs = [q, k, v, keyMask].map(OrtTensor.valueOf);
    const outputs = [
      { shape: q.shape, dtype: 'f32' as const },
      { shape: [dims.B, opts.heads, dims.T], dtype: 'f32' as const },
    ];
    const offset = this.scalarInput(opts.queryOffset);
    const [out, lse] = traceOp([...inputs, offset], outputs, (b, [qi, ki, vi, m, c]) => {
      const off = b.cast(c.name, 'i64');
      const [o, l] = emitAttentionForward(b, qi.name, ki.name, vi.name, m.name, dims, opts, off);
      return [b.reshape(o, q.shape), l];
    }).map((x) => this.handle(x));
    return { out, lse };
  }
  attentionBackward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor,
    out: Tensor,
    lse: Tensor,
    dOut: Tensor,
    opts: AttentionOptions,
  ): { dq: Tensor; dk: Tensor; dv: Tensor } {
    const dims = this.attentionDims(q, keyMask, opts);
    const inputs = [q, k, v, keyMask, out, lse, dOut].map(OrtTensor.valueOf);
    const outputs = [q, k, v].map((t) => ({ shape: t.shape, dtype: 'f32' as const }));
    const offset = this.scalarInput(opts.queryOffset);
    const [dq, dk, dv] = traceOp(
      [...inputs, offset],
      outputs,
      (b, [qi, ki, vi, m, oi, li, di, c]) => {
        const names = [qi, ki, vi, m, oi, li, di].map((x) => x.name);
        const [gq, gk, gv] = emitAttentionBackward(
          b,
          ...(names as [string, string, string, string, string, string, string]),
          dims,
          opts,
          b.cast(c.name, 'i64'),
        );
        return [b.reshape(gq, q.shape), b.reshape(gk, k.shape), b.reshape(gv, v.shape)];
      },
    ).map((x) => this.handle(x));
    return { dq, dk, dv };
  }
  kvCacheWrite(cache: Tensor, rows: Tensor, start: number): void {
    const [B, Smax, X] = cache.shape;
    const T = numel(rows.shape) / (B * X);
    if (!Number.isInteger(T) || start < 0 || start + T > Smax) {
      throw new Error(
        `kvCacheWrite: rows [${rows.shape}] at ${start} do not fit cache [${cache.shape}]`,
      );
    }
    const c = OrtTensor.valueOf(cache);
    const r = OrtTensor.valueOf(rows);
    const out = [{ shape: cache.shape, dtype: 'f32' as const }];
    // One row per sequence (a decode step): the row index is an input (one graph for all steps).
    const [next] =
      T === 1
        ? traceOp([c, r, this.scalarInput(start)], out, (b, [ci, ri, at]) => [
            emitKvCacheWriteAt(b, ci.name, ri.name, { B, Smax, X }, b.cast(at.name, 'i64')),
          ])
        : traceOp([c, r], out, (b, [ci, ri]) => [
            emitKvCacheWrite(b, ci.name, ri.name, { B, Smax, X, T }, start),
          ]);
    this.repoint(cache, next);
  }
  kvCachePrefix(cache: Tensor, length: number): Tensor {
    const [B, Smax, X] = cache.shape;
    if (length < 0 || length > Smax)
      throw new Error(
        `kvCachePrefix: length ${length} outside [0, ${Smax}] of cache [${cache.shape}]`,
      );
    const [prefix] = traceOp(
      [OrtTensor.valueOf(cache), this.scalarInput(length)],
      [{ shape: [B, length, X], dtype: 'f32' }],
      (b, [ci, n]) => {
        const end = b.reshape(b.cast(n.name, 'i64'), [1]);
        return [b.op('Slice', [ci.name, b.i64([0]), end, b.i64([1])])];
      },
    );
    return this.handle(prefix);
  }

  // ---- mlp ---------------------------------------------------------------------------

  swigluForward(gate: Tensor, up: Tensor): Tensor {
    return this.trace1([gate, up], gate.shape, (b, [g, u]) => [
      emitSwigluForward(b, g.name, b.reshape(u.name, gate.shape)),
    ]);
  }
  swigluBackward(gate: Tensor, up: Tensor, dOut: Tensor): { dGate: Tensor; dUp: Tensor } {
    const [dGate, dUp] = this.trace(
      [gate, up, dOut],
      [
        { shape: gate.shape, dtype: 'f32' },
        { shape: up.shape, dtype: 'f32' },
      ],
      (b, [g, u, d]) => {
        const [dg, du] = emitSwigluBackward(
          b,
          g.name,
          b.reshape(u.name, gate.shape),
          b.reshape(d.name, gate.shape),
        );
        return [dg, b.reshape(du, up.shape)];
      },
    );
    return { dGate, dUp };
  }

  // ---- vocabulary statistics ---------------------------------------------------------

  vocabStats(
    logits: Tensor,
    targets: Tensor,
    opts: { temperature: number; stats: readonly VocabStatName[] },
  ): Tensor {
    const [N] = logits.shape;
    checkTemperature(opts.temperature);
    return this.trace1([logits, targets], [N, opts.stats.length], (b, [z, y]) => [
      emitVocabStats(b, z.name, y.name, N, opts.temperature, opts.stats),
    ]);
  }
  vocabGrad(
    logits: Tensor,
    targets: Tensor,
    statValues: Tensor,
    coeffs: Tensor,
    opts: { temperature: number; stats: readonly VocabStatName[] },
  ): Tensor {
    const [N, V] = logits.shape;
    checkTemperature(opts.temperature);
    return this.trace1([logits, targets, statValues, coeffs], [N, V], (b, [z, y, s, c]) => [
      emitVocabGrad(b, z.name, y.name, s.name, c.name, N, V, opts.temperature, opts.stats),
    ]);
  }

  // ---- sampling ----------------------------------------------------------------------

  sample(logits: Tensor, presence: Tensor, uniforms: Tensor, params: SamplingParams): Tensor {
    const [B, V] = logits.shape;
    return this.trace1(
      [logits, presence, uniforms],
      [B],
      (b, [z, p, u]) => [emitSample(b, z.name, p.name, u.name, B, V, params)],
      'i32',
    );
  }
  markPresent(presence: Tensor, ids: Tensor): void {
    const [B] = presence.shape;
    const [next] = traceOp(
      [OrtTensor.valueOf(presence), OrtTensor.valueOf(ids)],
      [{ shape: presence.shape, dtype: 'i32' }],
      (b, [p, i]) => [emitMarkPresent(b, p.name, i.name, B)],
    );
    this.repoint(presence, next);
  }

  // ---- optimizers (host ops; see optimizers.ts) --------------------------------------

  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamWParams): void {
    const shape = param.shape;
    const f32 = { shape, dtype: 'f32' as const };
    const params = { ...p };
    const [np, nm, nv] = this.traceHost([param, grad, m, v], [f32, f32, f32], ([pp, g, mm, vv]) =>
      adamwHost(
        pp as Float32Array,
        g as Float32Array,
        mm as Float32Array,
        vv as Float32Array,
        params,
      ),
    );
    this.repoint(param, np);
    this.repoint(m, nm);
    this.repoint(v, nv);
  }
  sgdUpdate(param: Tensor, grad: Tensor, p: SgdParams): void {
    const params = { ...p };
    const [np] = this.traceHost(
      [param, grad],
      [{ shape: param.shape, dtype: 'f32' }],
      ([pp, g]) => [sgdHost(pp as Float32Array, g as Float32Array, params)],
    );
    this.repoint(param, np);
  }
}

function checkTemperature(t: number): void {
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`temperature = ${t}; expected a finite number > 0`);
}

/**
 * Creates the backend and proves the execution provider loads (a one-node graph), so a missing
 * CUDA library fails here with install instructions instead of at the first read.
 */
export async function createOrtBackend(options: OrtBackendOptions = {}): Promise<OrtBackend> {
  const spec = parseDevice(options.device ?? 'cpu');
  if (options.cudaMemoryLimit !== undefined) {
    throw new Error(
      `ort backend: cudaMemoryLimit = ${options.cudaMemoryLimit}; onnxruntime-node passes only deviceId to the CUDA EP, so a GPU memory limit cannot be set through it. Leave it unset (the optimizer state stays on the host already) or lower micro-batch.`,
    );
  }
  const backend = new OrtBackendImpl(spec);
  try {
    const probe = backend.scale(backend.upload(new Float32Array([1]), [1]), 2);
    await backend.read(probe);
  } catch (e) {
    if (spec.kind === 'cuda') throw new Error(cudaUnavailableMessage(spec, e));
    throw e;
  }
  return backend;
}
