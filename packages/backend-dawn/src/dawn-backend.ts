import type {
  Backend,
  DeviceMemory,
  DType,
  GenerateOptions,
  GenerateResult,
  ModelConfig,
  ModelWeights,
  Tensor,
  TransferCounter,
} from '@oneshot-em/core';
import { generateOnDevice } from './generate.js';
import { attentionBackward, attentionForward } from './kernels/attention/attention.js';
import { refreshComputeCopy } from './kernels/convert/convert.js';
import { decodeLoopOps } from './kernels/decode/decode.js';
import { accumulate, add, addBias, scale } from './kernels/elementwise/elementwise.js';
import { embeddingBackward, embeddingForward } from './kernels/embedding/embedding.js';
import { kvCachePrefix, kvCacheWrite, materialise } from './kernels/kv-cache/kv-cache.js';
import { matmul } from './kernels/matmul/matmul.js';
import type { MatmulAvailability, MatmulVariant } from './kernels/matmul/variant.js';
import { adamwUpdate, sgdUpdate } from './kernels/optimizer/optimizer.js';
import { sumRows, sumSquares } from './kernels/reduce/reduce.js';
import { rmsnormBackward, rmsnormForward } from './kernels/rmsnorm/rmsnorm.js';
import { ropeRotate } from './kernels/rope/rope.js';
import { markPresent, sample } from './kernels/sample/sample.js';
import { swigluBackward, swigluForward } from './kernels/swiglu/swiglu.js';
import { vocabGrad, vocabStats } from './kernels/vocab/vocab.js';
import { widenComputeCopy } from './kernels/widen/widen.js';
import type { WeightDtype } from './kernels/weights.js';
import { BufferPool, MemoryMeter } from './runtime/buffers.js';
import { type CommandCounters, CommandQueue } from './runtime/commands.js';
import { type KernelContext, numel } from './runtime/context.js';
import { type DawnAdapterInfo, type DawnDeviceOptions, openDawnDevice } from './runtime/device.js';
import { PipelineCache } from './runtime/pipelines.js';
import { type OptionalMatmul, validateMatmulVariants } from './runtime/variants.js';
import { copyElements, rowsPerSegment } from './runtime/segments.js';
import { DawnTensor } from './runtime/tensor.js';

export interface DawnBackendOptions extends DawnDeviceOptions {
  /** Submit and validate after every dispatch (slow; pinpoints a failing kernel). */
  debug?: boolean;
  /**
   * Matmul kernel: 'auto' (default: gemv4 for M ≤ 8, the register-tiled tile64 for M, N ≥ 64,
   * else tile16, among the variants that validate on the adapter), or one variant where it
   * applies ('gemv', 'gemv4': M ≤ 8; 'tile64': M ≥ 64; 'tile128': M ≥ 128; 'sgmat': M ≥ 64,
   * f16 operands in subgroup matrices, adapters with chromium-experimental-subgroup-matrix
   * only; else tile16).
   */
  matmul?: MatmulVariant;
  /**
   * Matmuls with f16 tiles and products and f32 sums (matmulF16 in kernels/matmul/matmul.ts): a
   * performance option for forward passes and generation, off by default (fp32). Needs the
   * adapter's shader-f16 feature, and only the 16×16-tile kernel exists in f16.
   */
  f16?: boolean;
  /** Bytes of disposed buffers kept for reuse (default 2 GiB); beyond it they are destroyed. */
  poolBytes?: number;
  /**
   * Caps the largest buffer below the adapter's maxStorageBufferBindingSize and maxBufferSize
   * (tests use a small cap). Tensors above the limit are split into row segments
   * (runtime/segments.ts): the embedding, the head's weight and its gradient and optimizer
   * state, logits chunks; the ops that meet them (embedding, matmul, vocab statistics,
   * elementwise, sumSquares, optimizers, data movement) walk the segments.
   */
  maxBindingBytes?: number;
  /** Tests: these optional matmul variants get invalid WGSL, to exercise the fallback. */
  breakMatmulVariants?: OptionalMatmul[];
  /**
   * The dtype of the weights' compute copy (`--dtype`): 'f32' (none: kernels read the f32
   * master), 'bf16' (packed 2 per u32, widened in the kernels; every adapter) or 'f16' (needs
   * shader-f16). 'auto' (default) is bf16 on a GPU adapter when `baseDtype` is bf16, else f32.
   * The f32 master weights and AdamW m, v stay; the copy costs 2 bytes per weight more.
   */
  dtype?: 'auto' | WeightDtype;
  /** The base model's storage dtype, for `dtype: 'auto'`. */
  baseDtype?: 'f32' | 'bf16' | 'f16';
}

/** `dtype: 'auto'`: bf16 on a GPU for a bf16 base model, f32 otherwise (a CPU adapter: f32). */
export function resolveWeightDtype(
  requested: 'auto' | WeightDtype,
  baseDtype: 'f32' | 'bf16' | 'f16' | undefined,
  isFallbackAdapter: boolean,
): WeightDtype {
  if (requested !== 'auto') return requested;
  return baseDtype === 'bf16' && !isFallbackAdapter ? 'bf16' : 'f32';
}

export interface DawnBackend extends Backend {
  readonly kind: 'dawn';
  readonly adapter: DawnAdapterInfo;
  /** Optional features enabled on the device (present on the adapter and not disabled). */
  readonly features: { subgroups: boolean; f16: boolean; subgroupMatrix: boolean };
  /** The optional matmul variants that validated on this adapter (else tile16 runs). */
  readonly matmulVariants: MatmulAvailability;
  /** The weights' compute-copy dtype (`dtype` option resolved; 'f32': none). */
  readonly weightDtype: WeightDtype;
  /** The raw bits of a tensor's compute copy (u16 per element), or undefined: for tests. */
  readComputeCopy(t: Tensor): Promise<Uint16Array | undefined>;
  /** Storage buffers handed out and not yet disposed (leak checks). */
  liveBuffers(): number;
  /** Dispatches, submits, passes, copies, bind groups created, readbacks, decode recording ms so far (tools/bench). */
  commands(): CommandCounters;
  /** The largest buffer (binding) this backend creates; larger tensors are split. */
  readonly bindingLimit: number;
  /** Every GPU buffer the backend holds: tensors, the pool's free buffers, uniforms, staging. */
  memory(): DeviceMemory;
  resetPeakMemory(): void;
  /** In place: acc += x (acc keeps its handle; x is unchanged). */
  accumulate(acc: Tensor, x: Tensor): void;
  /**
   * With a compute copy (`dtype` bf16/f16): a matrix keeps only that copy on the device, its
   * f32 buffer freed (the caller, an offloaded trainer, holds the master). Matmul, embedding
   * and sumSquares read the copy; every op that needs its f32 values refuses it by name.
   * Vectors, and everything under dtype f32, keep their f32 buffers.
   */
  keepComputeCopyOnly(t: Tensor): void;
  /** Generation with the decode loop on the GPU (generate.ts). */
  generate(config: ModelConfig, w: ModelWeights, opts: GenerateOptions): Promise<GenerateResult>;
}

/**
 * The Dawn (WebGPU) executor of core's `TensorOps`. Every op is a launcher of its kernel
 * family (kernels/<family>/<family>.ts) that validates shapes and records a dispatch into one
 * command encoder; only `read` and `sync` submit and wait. Tensors are GPU buffers from a
 * pool; `dispose` returns them.
 */
export async function createDawnBackend(options: DawnBackendOptions = {}): Promise<DawnBackend> {
  if (options.f16 && options.matmul !== undefined && !['auto', 'tile16'].includes(options.matmul))
    throw new Error(
      `Dawn backend: f16 has only a 16×16-tile matmul; drop matmul: '${options.matmul}'`,
    );
  const dev = await openDawnDevice(options);
  const { device } = dev;
  if (options.f16 && !dev.hasF16) {
    device.destroy();
    throw new Error(
      `Dawn backend: f16 needs the shader-f16 feature, which ${options.disableF16 ? 'disableF16 turns off' : `adapter "${dev.adapter.description}" lacks`}`,
    );
  }
  const weightDtype = resolveWeightDtype(
    options.dtype ?? 'auto',
    options.baseDtype,
    dev.adapter.isFallback,
  );
  if (weightDtype === 'f16' && !dev.hasF16) {
    device.destroy();
    throw new Error(
      `Dawn backend: --dtype f16 needs the WebGPU feature shader-f16, which ${options.disableF16 ? 'disableF16 turns off' : `adapter "${dev.adapter.description}" lacks`}; use --dtype bf16 (every adapter) or f32`,
    );
  }
  if (options.maxBindingBytes !== undefined && !(options.maxBindingBytes >= 256)) {
    device.destroy();
    throw new Error(
      `Dawn backend: maxBindingBytes = ${options.maxBindingBytes}; expected a byte count ≥ 256`,
    );
  }
  const matmulAvailable = await validateMatmulVariants(device, {
    weightDtype,
    subgroupMatrix: dev.subgroupMatrix,
    requested: options.matmul,
    broken: options.breakMatmulVariants,
  });
  const meter = new MemoryMeter();
  const pool = new BufferPool(
    device,
    dev.usage.storage | dev.usage.copySrc | dev.usage.copyDst,
    options.poolBytes ?? 2 ** 31,
    options.maxBindingBytes ?? Number.POSITIVE_INFINITY,
    meter,
  );
  const bindingLimit = pool.maxBytes;
  const queue = new CommandQueue(dev, new PipelineCache(device), pool, meter, options.debug);
  const counter: TransferCounter = { uploads: 0, reads: 0, bytesUp: 0, bytesDown: 0 };
  const constants = new Map<string, Tensor>();
  let destroyed = false;

  /** A new tensor: one buffer, or row segments when it exceeds the binding limit. */
  function allocate(shape: readonly number[], dtype: DType, hostWrite: boolean): DawnTensor {
    const per = rowsPerSegment(shape, bindingLimit);
    if (per === undefined)
      return new DawnTensor(pool.acquire(numel(shape) * 4, hostWrite), shape, dtype);
    const width = numel(shape) / shape[0];
    const buffers: GPUBuffer[] = [];
    for (let row = 0; row < shape[0]; row += per)
      buffers.push(pool.acquire(Math.min(per, shape[0] - row) * width * 4, hostWrite));
    return new DawnTensor(buffers, shape, dtype, undefined, per);
  }
  const alloc = (shape: readonly number[], dtype: DType = 'f32') => allocate(shape, dtype, false);
  function upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    if (data.length !== numel(shape))
      throw new Error(`upload: ${data.length} values do not fill shape [${shape}]`);
    const t = allocate(shape, data instanceof Int32Array ? 'i32' : 'f32', true);
    for (const s of DawnTensor.segments(t, 'upload')) {
      if (s.elems > 0)
        device.queue.writeBuffer(
          s.buffer,
          0,
          data.buffer,
          data.byteOffset + s.elem0 * 4,
          s.elems * 4,
        );
    }
    counter.uploads++;
    counter.bytesUp += data.byteLength;
    if (weightDtype !== 'f32' && t.dtype === 'f32') uploaded.add(t);
    return t;
  }
  /** Host-uploaded f32 tensors: the only ones that get a compute copy (ctx.asWeight). */
  const uploaded = new WeakSet<Tensor>();
  function dispose(t: Tensor): void {
    for (const b of DawnTensor.detach(t)) pool.release(b);
  }
  const ctx: KernelContext = {
    queue,
    matmul: options.matmul ?? 'auto',
    matmulAvailable,
    ...(dev.subgroupMatrix && { subgroupMatrix: dev.subgroupMatrix }),
    workgroupLimits: dev.workgroupLimits,
    reduction: dev.hasSubgroups ? 'subgroup' : 'workgroup',
    f16: options.f16 ?? false,
    weightDtype,
    acquire: (bytes) => pool.acquire(bytes, false),
    asWeight(t) {
      if (uploaded.has(t) && !DawnTensor.computeCopy(t)) refreshComputeCopy(ctx, t as DawnTensor);
      return t;
    },
    alloc,
    upload,
    dispose,
    constant(key, make) {
      let t = constants.get(key);
      if (!t) {
        const { data, shape } = make();
        t = upload(data, shape);
        uploaded.delete(t);
        constants.set(key, t);
      }
      return t;
    },
  };
  const decodeLoop = {
    ...decodeLoopOps(ctx),
    endStep(recordMs: number) {
      queue.recordedDecodeStep(recordMs);
      queue.flush();
    },
    async readLater(t: Tensor): Promise<Int32Array> {
      const bytes = numel(t.shape) * 4;
      counter.reads++;
      counter.bytesDown += bytes;
      return new Int32Array(await queue.readLater(DawnTensor.buffer(t, 'readLater'), bytes));
    },
  };

  const backend: DawnBackend = {
    name: `dawn(${dev.adapter.description} · ${dev.adapter.api})`,
    kind: 'dawn',
    adapter: dev.adapter,
    features: {
      subgroups: dev.hasSubgroups,
      f16: dev.hasF16,
      subgroupMatrix: dev.subgroupMatrix !== undefined,
    },
    matmulVariants: matmulAvailable,
    weightDtype,
    async readComputeCopy(t) {
      const copy = DawnTensor.computeCopy(t);
      if (!copy) return undefined;
      const out = new Uint16Array(numel(t.shape));
      for (const s of DawnTensor.weightSegments(t, 'readComputeCopy'))
        out.set(new Uint16Array(await queue.read(s.buffer, s.elems * 2), 0, s.elems), s.elem0);
      return out;
    },
    keepComputeCopyOnly(t) {
      // matrices only: the kernels read them as weights alone (matmul's b, the embedding
      // table), while vectors (norm weights, biases) are read in f32 by rmsnorm and addBias
      if (weightDtype === 'f32' || t.dtype !== 'f32' || t.shape.length < 2) return;
      if (!DawnTensor.computeCopy(t)) refreshComputeCopy(ctx, t as DawnTensor);
      for (const b of DawnTensor.dropMaster(t)) pool.release(b);
      // submitted, the freed buffers settle: the next upload takes them (or, past the pool's
      // cap, they are destroyed) instead of every weight's f32 buffer piling up meanwhile
      queue.flush();
    },
    liveBuffers: () => pool.live,
    commands: () => queue.counters,
    bindingLimit,
    memory: () => ({ liveBytes: meter.liveBytes, peakBytes: meter.peakBytes }),
    resetPeakMemory: () => meter.resetPeak(),
    transfers: () => ({ ...counter }),
    async sync() {
      await queue.sync();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await queue.sync().catch(() => undefined);
      for (const t of constants.values()) dispose(t);
      pool.destroy();
      queue.destroy();
      device.destroy();
    },
    generate: (config, w, opts) => generateOnDevice(backend, decodeLoop, config, w, opts),

    // ---- data movement
    upload,
    zeros(shape, dtype = 'f32') {
      const t = alloc(shape, dtype);
      for (const s of DawnTensor.segments(t, 'zeros'))
        if (s.elems > 0) queue.clear(s.buffer, s.elems * 4);
      return t;
    },
    async read(t) {
      const bytes = numel(t.shape) * 4;
      // a KV-cache view is first copied out densely
      const dense = (t as DawnTensor).viewRowsPerBatch === undefined ? t : materialise(ctx, t);
      let data: ArrayBuffer;
      const segments = DawnTensor.segments(dense, 'read');
      if (segments.length === 1) {
        data = bytes === 0 ? new ArrayBuffer(0) : await queue.read(segments[0].buffer, bytes);
      } else {
        const whole = new Uint8Array(bytes);
        for (const s of segments)
          whole.set(new Uint8Array(await queue.read(s.buffer, s.elems * 4)), s.elem0 * 4);
        data = whole.buffer;
      }
      if (dense !== t) dispose(dense);
      counter.reads++;
      counter.bytesDown += bytes;
      return t.dtype === 'i32' ? new Int32Array(data) : new Float32Array(data);
    },
    dispose,
    sliceRows(x, start, count) {
      const rows = x.shape[0];
      if (start < 0 || count < 0 || start + count > rows) {
        throw new Error(
          `sliceRows: rows [${start}, ${start + count}) outside [0, ${rows}) of [${x.shape}]`,
        );
      }
      const width = numel(x.shape) / rows;
      const out = alloc([count, ...x.shape.slice(1)], x.dtype);
      copyElements(queue, x, start * width, out, 0, count * width);
      return out;
    },
    concatRows(parts) {
      if (parts.length === 0) throw new Error('concatRows: no parts');
      const [first] = parts;
      const tail = first.shape.slice(1);
      const out = alloc([parts.reduce((n, p) => n + p.shape[0], 0), ...tail], first.dtype);
      let offset = 0;
      for (const p of parts) {
        if (p.dtype !== first.dtype || p.shape.slice(1).join() !== tail.join()) {
          throw new Error(
            `concatRows: part [${p.shape}] ${p.dtype} does not match [${first.shape}] ${first.dtype}`,
          );
        }
        const elems = numel(p.shape);
        copyElements(queue, p, 0, out, offset, elems);
        offset += elems;
      }
      return out;
    },

    // ---- kernels (one family each: kernels/<family>/)
    embeddingForward: (ids, table) => embeddingForward(ctx, ids, table),
    embeddingBackward: (ids, dOut, vocabSize) => embeddingBackward(ctx, ids, dOut, vocabSize),
    matmul: (a, b, opts) => matmul(ctx, a, b, opts),
    add: (a, b) => add(ctx, a, b),
    accumulate(acc, x) {
      accumulate(ctx, acc, x);
      // in place: a weight's compute copy must follow its master
      if (DawnTensor.computeCopy(acc)) refreshComputeCopy(ctx, acc as DawnTensor);
    },
    scale: (x, s) => scale(ctx, x, s),
    addBias: (x, bias) => addBias(ctx, x, bias),
    sumRows: (x) => sumRows(ctx, x),
    sumSquares(x) {
      // a weight whose master is on the host: the sum over the values the device holds (the
      // trainer's finiteness check after each update)
      if (!DawnTensor.masterOnHost(x)) return sumSquares(ctx, x);
      const wide = widenComputeCopy(ctx, x);
      const out = sumSquares(ctx, wide);
      dispose(wide);
      return out;
    },
    rmsnormForward: (x, weight, eps) => rmsnormForward(ctx, x, weight, eps),
    rmsnormBackward: (x, weight, rstd, dOut) => rmsnormBackward(ctx, x, weight, rstd, dOut),
    ropeForward: (x, positions, opts) => ropeRotate(ctx, x, positions, opts, 1),
    ropeBackward: (dOut, positions, opts) => ropeRotate(ctx, dOut, positions, opts, -1),
    attentionForward: (q, k, v, keyMask, opts) => attentionForward(ctx, q, k, v, keyMask, opts),
    attentionBackward: (q, k, v, keyMask, out, lse, dOut, opts) =>
      attentionBackward(ctx, q, k, v, keyMask, out, lse, dOut, opts),
    kvCacheWrite: (cache, rows, start) => kvCacheWrite(ctx, cache, rows, start),
    kvCachePrefix: (cache, length) => kvCachePrefix(cache, length),
    swigluForward: (gate, up) => swigluForward(ctx, gate, up),
    swigluBackward: (gate, up, dOut) => swigluBackward(ctx, gate, up, dOut),
    vocabStats: (logits, targets, opts) => vocabStats(ctx, logits, targets, opts),
    vocabGrad: (logits, targets, statValues, coeffs, opts) =>
      vocabGrad(ctx, logits, targets, statValues, coeffs, opts),
    sample: (logits, presence, uniforms, params) => sample(ctx, logits, presence, uniforms, params),
    markPresent: (presence, ids) => markPresent(ctx, presence, ids),
    // the optimizer writes the f32 master, then the compute copy is rounded from it
    adamwUpdate(param, grad, m, v, p) {
      adamwUpdate(ctx, param, grad, m, v, p);
      if (DawnTensor.computeCopy(param)) refreshComputeCopy(ctx, param as DawnTensor);
    },
    sgdUpdate(param, grad, p) {
      sgdUpdate(ctx, param, grad, p);
      if (DawnTensor.computeCopy(param)) refreshComputeCopy(ctx, param as DawnTensor);
    },
  };
  return backend;
}
