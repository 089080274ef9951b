import type {
  AdamWParams,
  AttentionOptions,
  Backend,
  DeviceMemory,
  DType,
  GenerateOptions,
  GenerateResult,
  ModelConfig,
  ModelWeights,
  RopeOptions,
  SamplingParams,
  SgdParams,
  Tensor,
  TensorOps,
  TransferCounter,
} from '@oneshot-em/core';
import { HostOptimizer } from '@oneshot-em/core/node';
import {
  cudaUnavailableMessage,
  deviceName,
  type OrtDevice,
  type OrtDeviceSpec,
  parseDevice,
} from './device.js';
import { Executor } from './executor.js';
import { OrtTensor } from './graph/trace.js';
import { fusedGenerate } from './generate.js';
import { attentionBackward, attentionForward } from './ops/attention/attention.js';
import { computeCopy, resolveWeightDtype } from './ops/convert/convert.js';
import { concatRows, sliceRows, upload, zeros } from './ops/data/data.js';
import { accumulate, add, addBias, matmul, scale, sumRows, sumSquares } from './ops/dense/dense.js';
import { embeddingBackward, embeddingForward } from './ops/embedding/embedding.js';
import { kvCachePrefix, kvCacheWrite } from './ops/kv-cache/kv-cache.js';
import { adamwUpdate, sgdUpdate } from './ops/optimizer/optimizer.js';
import { rmsnormBackward, rmsnormForward } from './ops/rmsnorm/rmsnorm.js';
import { rope } from './ops/rope/rope.js';
import { markPresent, sample } from './ops/sample/sample.js';
import { swigluBackward, swigluForward } from './ops/swiglu/swiglu.js';
import { type VocabOptions, vocabGrad, vocabStats } from './ops/vocab/vocab.js';
import { Tracer, type WeightDtype } from './tracer.js';

export interface OrtBackendOptions {
  /** 'cpu' (default), 'cuda' (= cuda:0) or 'cuda:N'. */
  device?: OrtDevice | string;
  /**
   * Bytes of GPU memory the CUDA EP may use. onnxruntime-node's binding forwards only
   * `deviceId` to the CUDA EP, so a limit cannot be passed through; setting it is an error
   * rather than a silent no-op.
   */
  cudaMemoryLimit?: number;
  /**
   * The dtype of the weights' compute copy (`--dtype`): 'f32' (none), 'f16' (matmul weights and
   * embedding tables fed as f16, widened to f32 in the graph; f32 master weights and optimizer
   * state on the host). 'bf16' is an error: onnxruntime-node has no bfloat16 tensors. 'auto'
   * (default): f16 on CUDA for an f16 base model, else f32 (ops/convert resolveWeightDtype).
   */
  dtype?: 'auto' | 'f32' | 'bf16' | 'f16';
  /** The base model's storage dtype, for `dtype: 'auto'`. */
  baseDtype?: 'f32' | 'bf16' | 'f16';
}

export interface OrtBackend extends Backend {
  readonly kind: 'ort';
  /** Number of `InferenceSession.run` calls so far (the Loop test counts them). */
  runs(): number;
  /** Number of compiled graphs held (the session cache, bounded LRU). */
  sessions(): number;
  /** Op types of the main graph of the last run (tests check that generation is one Loop). */
  lastGraphOpTypes(): readonly string[];
  /** The weights' compute-copy dtype (`dtype` resolved; 'f32': none). */
  readonly weightDtype: WeightDtype;
  /**
   * The f16 bits matmul and embedding read for t (an uploaded weight), made now if needed;
   * undefined without a compute copy.
   */
  readComputeCopy(t: Tensor): Promise<Uint16Array | undefined>;
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

/**
 * ONNX Runtime backend of core's `TensorOps`, by tracing: every op (one folder per primitive
 * family in ops/, each beside its graph emitter) appends nodes to the traced program and
 * returns a handle at once; the Executor (executor.ts) compiles and runs what a read needs.
 * This class only wires core's interface to those ops; `ctx` says which graph it traces into
 * (the main one, or a decode Loop body: generate.ts makes a second instance for it).
 *
 * In-place ops (kvCacheWrite, markPresent, accumulate, adamwUpdate, sgdUpdate) re-point the
 * handle to a new value.
 */
class OrtBackendImpl implements OrtBackend {
  readonly kind = 'ort' as const;
  readonly name: string;
  readonly weightDtype: WeightDtype;
  private readonly exec: Executor;

  constructor(
    private readonly ctx: Tracer,
    /** AdamW/SGD on the host; its worker pool starts at the first big update, ends at destroy. */
    private readonly optimizer: HostOptimizer,
  ) {
    this.exec = ctx.exec;
    this.weightDtype = ctx.weightDtype;
    const dtype = ctx.weightDtype === 'f32' ? '' : ` · ${ctx.weightDtype} weights`;
    this.name = `ort(${deviceName(ctx.device)}${dtype})`;
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
  async readComputeCopy(t: Tensor): Promise<Uint16Array | undefined> {
    const copy = computeCopy(this.ctx, OrtTensor.valueOf(t));
    if (!copy) return undefined;
    await this.exec.sync(); // runs the host ops: the optimizer's update, then the conversion
    const src = copy.f16.source;
    if (src.kind !== 'data') throw new Error('ort backend (internal): compute copy not made');
    return (src.data as Uint16Array).slice();
  }
  generate(
    config: ModelConfig,
    weights: ModelWeights,
    request: GenerateOptions,
  ): Promise<GenerateResult> {
    const bodyOps = (ctx: Tracer): TensorOps => new OrtBackendImpl(ctx, this.optimizer);
    return fusedGenerate(this.ctx, this, bodyOps, config, weights, request);
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
    return upload(this.ctx, data, shape);
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return zeros(this.ctx, shape, dtype);
  }
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    return this.exec.read(t);
  }
  dispose(t: Tensor): void {
    this.exec.dispose(t);
  }
  sliceRows(x: Tensor, start: number, count: number): Tensor {
    return sliceRows(this.ctx, x, start, count);
  }
  concatRows(parts: readonly Tensor[]): Tensor {
    return concatRows(this.ctx, parts);
  }

  // ---- primitive families ------------------------------------------------------------

  embeddingForward(ids: Tensor, table: Tensor): Tensor {
    return embeddingForward(this.ctx, ids, table);
  }
  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    return embeddingBackward(this.ctx, ids, dOut, vocabSize);
  }
  matmul(a: Tensor, w: Tensor, opts?: { transA?: boolean; transB?: boolean }): Tensor {
    return matmul(this.ctx, a, w, opts);
  }
  add(a: Tensor, c: Tensor): Tensor {
    return add(this.ctx, a, c);
  }
  accumulate(acc: Tensor, x: Tensor): void {
    accumulate(this.ctx, acc, x);
  }
  scale(x: Tensor, s: number): Tensor {
    return scale(this.ctx, x, s);
  }
  addBias(x: Tensor, bias: Tensor): Tensor {
    return addBias(this.ctx, x, bias);
  }
  sumRows(x: Tensor): Tensor {
    return sumRows(this.ctx, x);
  }
  sumSquares(x: Tensor): Tensor {
    return sumSquares(this.ctx, x);
  }
  rmsnormForward(x: Tensor, weight: Tensor, eps: number): { out: Tensor; rstd: Tensor } {
    return rmsnormForward(this.ctx, x, weight, eps);
  }
  rmsnormBackward(x: Tensor, weight: Tensor, rstd: Tensor, dOut: Tensor) {
    return rmsnormBackward(this.ctx, x, weight, rstd, dOut);
  }
  ropeForward(x: Tensor, positions: Tensor, opts: RopeOptions): Tensor {
    return rope(this.ctx, x, positions, opts, false);
  }
  ropeBackward(dOut: Tensor, positions: Tensor, opts: RopeOptions): Tensor {
    return rope(this.ctx, dOut, positions, opts, true);
  }
  attentionForward(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor, opts: AttentionOptions) {
    return attentionForward(this.ctx, q, k, v, keyMask, opts);
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
  ) {
    return attentionBackward(this.ctx, q, k, v, keyMask, out, lse, dOut, opts);
  }
  kvCacheWrite(cache: Tensor, rows: Tensor, start: number): void {
    kvCacheWrite(this.ctx, cache, rows, start);
  }
  kvCachePrefix(cache: Tensor, length: number): Tensor {
    return kvCachePrefix(this.ctx, cache, length);
  }
  swigluForward(gate: Tensor, up: Tensor): Tensor {
    return swigluForward(this.ctx, gate, up);
  }
  swigluBackward(gate: Tensor, up: Tensor, dOut: Tensor) {
    return swigluBackward(this.ctx, gate, up, dOut);
  }
  vocabStats(logits: Tensor, targets: Tensor, opts: VocabOptions): Tensor {
    return vocabStats(this.ctx, logits, targets, opts);
  }
  vocabGrad(
    logits: Tensor,
    targets: Tensor,
    statValues: Tensor,
    coeffs: Tensor,
    opts: VocabOptions,
  ): Tensor {
    return vocabGrad(this.ctx, logits, targets, statValues, coeffs, opts);
  }
  sample(logits: Tensor, presence: Tensor, uniforms: Tensor, params: SamplingParams): Tensor {
    return sample(this.ctx, logits, presence, uniforms, params);
  }
  markPresent(presence: Tensor, ids: Tensor): void {
    markPresent(this.ctx, presence, ids);
  }
  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamWParams): void {
    adamwUpdate(this.ctx, this.optimizer, param, grad, m, v, p);
  }
  sgdUpdate(param: Tensor, grad: Tensor, p: SgdParams): void {
    sgdUpdate(this.ctx, this.optimizer, param, grad, p);
  }
}

/**
 * Creates the backend and proves the execution provider loads (a one-node graph), so a missing
 * CUDA library fails here with install instructions instead of at the first read.
 */
export async function createOrtBackend(options: OrtBackendOptions = {}): Promise<OrtBackend> {
  const spec: OrtDeviceSpec = parseDevice(options.device ?? 'cpu');
  if (options.cudaMemoryLimit !== undefined) {
    throw new Error(
      `ort backend: cudaMemoryLimit = ${options.cudaMemoryLimit}; onnxruntime-node passes only deviceId to the CUDA EP, so a GPU memory limit cannot be set through it. Leave it unset (the optimizer state stays on the host already) or lower micro-batch.`,
    );
  }
  const weightDtype = resolveWeightDtype(options.dtype ?? 'auto', options.baseDtype, spec);
  const backend = new OrtBackendImpl(
    new Tracer(new Executor(spec), spec, weightDtype),
    new HostOptimizer(),
  );
  try {
    const probe = backend.scale(backend.upload(new Float32Array([1]), [1]), 2);
    await backend.read(probe);
  } catch (e) {
    if (spec.kind === 'cuda') throw new Error(cudaUnavailableMessage(spec, e));
    throw e;
  }
  return backend;
}
