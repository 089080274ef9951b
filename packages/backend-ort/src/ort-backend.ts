import {
  type AdamWParams,
  type AttentionOptions,
  type Backend,
  type DeviceMemory,
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
import {
  cudaUnavailableMessage,
  deviceName,
  type OrtDevice,
  type OrtDeviceSpec,
  parseDevice,
} from './device.js';
import { Executor, type HostData } from './executor.js';
import { fusedGenerate } from './generate.js';
import { type GraphBuilder, int } from './graph/builder.js';
import { emitAttentionBackward, emitAttentionForward } from './graph/ops/attention.js';
import { emitMatmul, emitScale, emitSumRows, emitSumSquares } from './graph/ops/dense.js';
import { emitEmbeddingBackward, emitEmbeddingForward } from './graph/ops/embedding.js';
import { emitKvCacheWrite, emitKvCacheWriteAt } from './graph/ops/kv-cache.js';
import { emitRmsnormBackward, emitRmsnormForward } from './graph/ops/rmsnorm.js';
import { emitRope, emitRopeTables, ropeTables } from './graph/ops/rope.js';
import { emitMarkPresent, emitSample } from './graph/ops/sample.js';
import { emitSwigluBackward, emitSwigluForward } from './graph/ops/swiglu.js';
import { emitVocabGrad, emitVocabStats, vocabRowsPerChunk } from './graph/ops/vocab.js';
import {
  type Emit,
  type HostImpl,
  OrtTensor,
  type TraceOp,
  TraceValue,
  traceOp,
} from './graph/trace.js';
import { HostOptimizer } from '@oneshot-em/core/node';

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

export interface LoopBodyContext {
  scope: number;
  staticStart: number;
  /** i32 scalar: the cache row this iteration writes (= its query position index) */
  cursor: TraceValue;
  /** positions in the body are < this (rope tables cover [0, positionsLimit)) */
  positionsLimit: number;
  /** the host cos/sin tables per (theta, D), shared by every rope call of the body */
  ropeTables: Map<string, [OrtTensor, OrtTensor]>;
}
/**
 * ONNX Runtime backend of core's `TensorOps`, by tracing: every op below appends nodes (the
 * emitters of graph/ops/) to the traced program and returns a handle at once; the Executor
 * (executor.ts) compiles and runs what a read needs.
 *
 * In-place ops (kvCacheWrite, markPresent, adamwUpdate, sgdUpdate) re-point the handle to a new
 * value. The optimizers are host ops: see core's train/host-optimizer/in-place.ts for where and why.
 */
export class OrtBackendImpl implements OrtBackend {
  readonly kind = 'ort' as const;
  readonly name: string;
  private readonly exec: Executor;
  /** AdamW/SGD on the host; its worker pool starts at the first big update, ends at destroy. */
  private readonly optimizer = new HostOptimizer();
  private scopes = 0;
  /**
   * Set while generate.ts traces core's decode step into a Loop body. The body is traced at a
   * static cache length (`staticStart` = Smax − 1, so every shape is the full cache); the ops
   * that take that length — kvCacheWrite's start and attention's queryOffset — read the
   * Loop's dynamic `cursor` instead, and rope gathers host tables for positions < Smax.
   */
  loopBody: LoopBodyContext | null = null;
  /** embeddingBackward's traced ops and their inputs (`add` fuses them: scatterInto). */
  private readonly embeddingGrads = new WeakMap<TraceOp, { ids: TraceValue; dOut: TraceValue }>();

  constructor(readonly device: OrtDeviceSpec) {
    this.name = `ort(${deviceName(device)})`;
    this.exec = new Executor(device);
  }

  // ---- tracing helpers ---------------------------------------------------------------

  handle(v: TraceValue): OrtTensor {
    return this.exec.handle(v);
  }

  /** A Loop-body input of a new scope (generate.ts binds it to the body graph's input). */
  placeholder(shape: readonly number[], dtype: DType, scope: number): OrtTensor {
    return new OrtTensor(new TraceValue([...shape], dtype, { kind: 'placeholder', scope }, scope));
  }

  newScope(): number {
    return ++this.scopes;
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
    return this.exec.data(data, shape);
  }

  /** Traces one op over handles; returns handles for its outputs. */
  private trace(
    inputs: readonly Tensor[],
    outputs: { shape: readonly number[]; dtype: DType }[],
    emit: Emit,
    host?: HostImpl,
  ): OrtTensor[] {
    const values = inputs.map(OrtTensor.valueOf);
    if (host && values.every((v) => v.source.kind === 'data')) {
      // Every input is on the host already (accumulated gradients, updated weights): compute
      // now, so the inputs can be released as soon as the caller disposes them.
      const outs = host(values.map((v) => (v.source as { data: HostData }).data));
      return outs.map((data, i) => this.handle(this.data(data, outputs[i].shape)));
    }
    return traceOp(values, outputs, emit, host).map((v) => this.handle(v));
  }

  private trace1(
    inputs: readonly Tensor[],
    shape: readonly number[],
    emit: Emit,
    dtype: DType = 'f32',
    host?: HostImpl,
  ): OrtTensor {
    return this.trace(inputs, [{ shape, dtype }], emit, host)[0];
  }

  private repoint(t: Tensor, v: TraceValue): void {
    this.exec.repoint(t, v);
  }

  // ---- Backend -----------------------------------------------------------------------

  transfers(): TransferCounter {
    return this.exec.transfers();
  }
  /** Host arrays held by live handles, plus each run's outputs at its end (Executor.memory). */
  memory(): DeviceMemory {
    return this.exec.memory();
  }
  resetPeakMemory(): void {
    this.exec.resetPeakMemory();
  }
  runs(): number {
    return this.exec.runs();
  }
  sessions(): number {
    return this.exec.sessions();
  }
  lastGraphOpTypes(): readonly string[] {
    return this.exec.lastGraphOpTypes();
  }
  generate(
    config: ModelConfig,
    weights: ModelWeights,
    request: GenerateOptions,
  ): Promise<GenerateResult> {
    return fusedGenerate(this, config, weights, request);
  }
  sync(): Promise<void> {
    return this.exec.sync();
  }
  async destroy(): Promise<void> {
    await this.exec.destroy();
    await this.optimizer.destroy();
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
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    return this.exec.read(t);
  }
  dispose(t: Tensor): void {
    this.exec.dispose(t);
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
    const t = this.trace1([ids, dOut], [vocabSize, C], (b, [i, d]) => [
      emitEmbeddingBackward(b, i.name, b.reshape(d.name, [n, C]), n, vocabSize, C),
    ]);
    const src = OrtTensor.valueOf(t).source;
    // values, not handles: the caller may dispose dOut before the add (modelBackward does)
    if (src.kind === 'op')
      this.embeddingGrads.set(src.op, {
        ids: OrtTensor.valueOf(ids),
        dOut: OrtTensor.valueOf(dOut),
      });
    return t;
  }

  /**
   * `add(embeddingBackward(ids, dOut, V), x)` as one scatter into x (see emitEmbeddingBackward):
   * at 0.5B the [V, C] zeros and sum were 1 GB of the step's peak. Null when `grad` is not an
   * embedding gradient of the same shape.
   */
  private scatterInto(grad: Tensor, into: Tensor): Tensor | null {
    const src = OrtTensor.valueOf(grad).source;
    const e = src.kind === 'op' ? this.embeddingGrads.get(src.op) : undefined;
    if (!e || into.dtype !== 'f32' || into.shape.join() !== grad.shape.join()) return null;
    const [V, C] = grad.shape;
    const n = numel(e.ids.shape);
    const [out] = traceOp(
      [e.ids, e.dOut, OrtTensor.valueOf(into)],
      [{ shape: [V, C], dtype: 'f32' }],
      (b, [i, d, x]) => [
        emitEmbeddingBackward(b, i.name, b.reshape(d.name, [n, C]), n, V, C, x.name),
      ],
    );
    return this.handle(out);
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
    const scattered = this.scatterInto(a, c) ?? this.scatterInto(c, a);
    if (scattered) return scattered;
    return this.trace1(
      [a, c],
      a.shape,
      (b, [x, y]) => [b.op('Add', [x.name, b.reshape(y.name, a.shape)])],
      a.dtype,
      hostAdd,
    );
  }
  /** acc += x on the host, in place (a host op: Executor.flush copies acc if anything else reads it). */
  accumulate(acc: Tensor, x: Tensor): void {
    if (numel(acc.shape) !== numel(x.shape) || acc.dtype !== 'f32' || x.dtype !== 'f32')
      throw new Error(
        `accumulate: acc [${acc.shape}] ${acc.dtype} and x [${x.shape}] ${x.dtype} differ`,
      );
    const [next] = this.exec.traceHost(
      [acc, x],
      [{ shape: acc.shape, dtype: 'f32' }],
      ([a, g]) => {
        for (let i = 0; i < a.length; i++) a[i] += g[i];
        return [a];
      },
      [0],
    );
    this.repoint(acc, next);
  }
  scale(x: Tensor, s: number): Tensor {
    const fs = Math.fround(s); // the graph multiplies by an f32 scalar
    return this.trace1(
      [x],
      x.shape,
      (b, [i]) => [emitScale(b, i.name, s)],
      x.dtype,
      ([d]) => [Float32Array.from(d, (e) => e * fs)],
    );
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
    return this.trace1([x], [1], (b, [i]) => [emitSumSquares(b, i.name)], 'f32', hostSumSquares);
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
      const { positionsLimit: limit, ropeTables: shared } = this.loopBody;
      const key = `${opts.theta}|${opts.headDim}`;
      let tables = shared.get(key);
      if (!tables) {
        const all = Int32Array.from({ length: limit }, (_, i) => i);
        const { cos, sin } = ropeTables(all, opts.theta, opts.headDim);
        tables = [
          this.handle(this.data(cos, [limit, opts.headDim / 2])),
          this.handle(this.data(sin, [limit, opts.headDim / 2])),
        ];
        shared.set(key, tables);
      }
      const [c, s] = tables;
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
      const out = this.trace1([x, c, s], x.shape, (b, xs) => [emit(b, xs, xs[1].name, xs[2].name)]);
      // the traced op keeps the tables; their handles are not the caller's to free
      this.dispose(c);
      this.dispose(s);
      return out;
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
    const [N, V] = logits.shape;
    checkTemperature(opts.temperature);
    // Row chunks help the CPU EP's caches; on CUDA each chunk would be kernel launches.
    const rows = this.device.kind === 'cpu' ? vocabRowsPerChunk(N, V) : N;
    return this.trace1([logits, targets], [N, opts.stats.length], (b, [z, y]) => [
      emitVocabStats(b, z.name, y.name, N, opts.temperature, opts.stats, rows),
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

  // ---- optimizers (host ops; core's train/host-optimizer) --------------------------------------

  /** In place on the host arrays of param, m and v, split over worker threads (core's HostOptimizer). */
  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamWParams): void {
    const shape = param.shape;
    const f32 = { shape, dtype: 'f32' as const };
    const params = { ...p };
    const [np, nm, nv] = this.exec.traceHost(
      [param, grad, m, v],
      [f32, f32, f32],
      ([pp, g, mm, vv]) =>
        this.optimizer.adamw(
          pp as Float32Array,
          g as Float32Array,
          mm as Float32Array,
          vv as Float32Array,
          params,
        ),
      [0, 2, 3],
    );
    this.repoint(param, np);
    this.repoint(m, nm);
    this.repoint(v, nv);
  }
  /** In place on param's host array. */
  sgdUpdate(param: Tensor, grad: Tensor, p: SgdParams): void {
    const params = { ...p };
    const [np] = this.exec.traceHost(
      [param, grad],
      [{ shape: param.shape, dtype: 'f32' }],
      ([pp, g]) => [this.optimizer.sgd(pp as Float32Array, g as Float32Array, params)],
      [0],
    );
    this.repoint(param, np);
  }
}

/** a + b on the host (f32, like the graph's Add). */
const hostAdd: HostImpl = ([a, b]) => {
  const out = a instanceof Int32Array ? new Int32Array(a.length) : new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return [out];
};

/** Σ x² on the host, accumulated in f64. */
const hostSumSquares: HostImpl = ([x]) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return [new Float32Array([s])];
};

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
