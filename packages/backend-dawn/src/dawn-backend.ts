import type {
  AdamWParams,
  AttentionOptions,
  Backend,
  DType,
  GenerateOptions,
  GenerateResult,
  ModelConfig,
  ModelWeights,
  RopeOptions,
  SamplingParams,
  SgdParams,
  Tensor,
  TransferCounter,
  VocabStatName,
} from '@oneshot-em/core';
import { type DecodeLoopOps, generateOnDevice } from './generate.js';
import { ATTENTION_MAX_HEAD_DIM } from './kernels/attention/attention.js';
import { kernels } from './kernels/index.js';
import { MATMUL_TILE, type MatmulVariant } from './kernels/matmul/matmul.js';
import { ROPE_TABLE_ROWS, ropeTable } from './kernels/rope/rope.js';
import { statCodes } from './kernels/vocab/vocab.js';
import { BufferPool } from './runtime/buffers.js';
import { CommandQueue } from './runtime/commands.js';
import { type DawnAdapterInfo, type DawnDeviceOptions, openDawnDevice } from './runtime/device.js';
import { PipelineCache } from './runtime/pipelines.js';
import { DawnTensor } from './runtime/tensor.js';

export interface DawnBackendOptions extends DawnDeviceOptions {
  /** Submit and validate after every dispatch (slow; pinpoints a failing kernel). */
  debug?: boolean;
  /**
   * Matmul kernel: 'tile16' (default) or 'tile64' (register-tiled, for large M and N; used
   * only when M ≥ 64, else tile16). A variant, until tools/bench shows which is better.
   */
  matmul?: MatmulVariant;
}

export interface DawnBackend extends Backend {
  readonly kind: 'dawn';
  readonly adapter: DawnAdapterInfo;
  /** Storage buffers handed out and not yet disposed (leak checks). */
  liveBuffers(): number;
  /** Generation with the decode loop on the GPU (generate.ts). */
  generate(config: ModelConfig, w: ModelWeights, opts: GenerateOptions): Promise<GenerateResult>;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * The Dawn (WebGPU) executor of core's `TensorOps`: every op records a WGSL dispatch into one
 * command encoder and returns at once; only `read` (and `sync`) submit and wait. Tensors are
 * GPU buffers from a size-keyed pool; `dispose` returns them.
 */
export async function createDawnBackend(options: DawnBackendOptions = {}): Promise<DawnBackend> {
  const dev = await openDawnDevice(options);
  const { device } = dev;
  const pool = new BufferPool(device, dev.usage.storage | dev.usage.copySrc | dev.usage.copyDst);
  const queue = new CommandQueue(dev, new PipelineCache(device), pool, options.debug);
  const counter: TransferCounter = { uploads: 0, reads: 0, bytesUp: 0, bytesDown: 0 };
  const ropeTables = new Map<string, DawnTensor>();
  let destroyed = false;

  const alloc = (shape: readonly number[], dtype: DType = 'f32') =>
    new DawnTensor(pool.acquire(numel(shape) * 4), shape, dtype);
  const b = (t: Tensor, what: string) => DawnTensor.buffer(t, what);
  function expectDtype(t: Tensor, dtype: DType, what: string): void {
    if (t.dtype !== dtype)
      throw new Error(`${what}: expected a ${dtype} tensor, got ${t.dtype} [${t.shape}]`);
  }
  function sameSize(a: Tensor, c: Tensor, what: string): void {
    if (numel(a.shape) !== numel(c.shape))
      throw new Error(`${what}: shapes [${a.shape}] and [${c.shape}] differ`);
  }
  function upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    if (data.length !== numel(shape))
      throw new Error(`upload: ${data.length} values do not fill shape [${shape}]`);
    const t = alloc(shape, data instanceof Int32Array ? 'i32' : 'f32');
    if (data.byteLength > 0)
      device.queue.writeBuffer(b(t, 'upload'), 0, data.buffer, data.byteOffset, data.byteLength);
    counter.uploads++;
    counter.bytesUp += data.byteLength;
    return t;
  }
  function ropeTableFor(theta: number, headDim: number): DawnTensor {
    const key = `${theta}/${headDim}`;
    let table = ropeTables.get(key);
    if (!table) {
      table = upload(ropeTable(theta, headDim), [ROPE_TABLE_ROWS, headDim / 2, 2]) as DawnTensor;
      ropeTables.set(key, table);
    }
    return table;
  }
  function rope(
    x: Tensor,
    positions: Tensor,
    o: RopeOptions,
    direction: 1 | -1,
    what: string,
  ): Tensor {
    expectDtype(positions, 'i32', `${what} positions`);
    const width = o.heads * o.headDim;
    const n = numel(x.shape) / width;
    if (!Number.isInteger(n) || numel(positions.shape) !== n || o.headDim % 2 !== 0) {
      throw new Error(
        `${what}: x [${x.shape}] is not [N, ${o.heads}·${o.headDim}] for positions [${positions.shape}]`,
      );
    }
    const out = alloc(x.shape);
    queue.dispatch(
      kernels.rope.rope,
      {
        n,
        heads: o.heads,
        d: o.headDim,
        style: o.style === 'half' ? 0 : 1,
        direction,
        table_rows: ROPE_TABLE_ROWS,
        theta: o.theta,
      },
      {
        x: b(x, `${what} x`),
        positions: b(positions, `${what} positions`),
        table: b(ropeTableFor(o.theta, o.headDim), 'rope table'),
        out: b(out, ''),
      },
      ceilDiv((n * width) / 2, 64),
    );
    return out;
  }
  function attentionParams(q: Tensor, k: Tensor, keyMask: Tensor, o: AttentionOptions) {
    expectDtype(keyMask, 'i32', 'attention keyMask');
    const [B, S] = keyMask.shape;
    const T = numel(q.shape) / (B * o.heads * o.headDim);
    if (
      !Number.isInteger(T) ||
      numel(k.shape) !== B * S * o.kvHeads * o.headDim ||
      o.heads % o.kvHeads !== 0
    ) {
      throw new Error(
        `attention: q [${q.shape}], k [${k.shape}], keyMask [${keyMask.shape}] do not fit heads ${o.heads}, kvHeads ${o.kvHeads}, headDim ${o.headDim}`,
      );
    }
    if (o.headDim > ATTENTION_MAX_HEAD_DIM)
      throw new Error(
        `attention: headDim ${o.headDim} exceeds the kernel limit ${ATTENTION_MAX_HEAD_DIM}`,
      );
    return {
      b: B,
      t: T,
      s: S,
      h: o.heads,
      k: o.kvHeads,
      d: o.headDim,
      q_offset: o.queryOffset,
      scale: 1 / Math.sqrt(o.headDim),
      kv_rows: S,
    };
  }
  function copyRows(
    src: Tensor,
    dst: Tensor,
    p: {
      b: number;
      rows: number;
      x: number;
      src_len: number;
      src_start: number;
      dst_len: number;
      dst_start: number;
    },
  ) {
    queue.dispatch(
      kernels.kvCache.copy_rows,
      p,
      { src: b(src, 'kv cache source'), dst: b(dst, 'kv cache destination') },
      ceilDiv(p.b * p.rows * p.x, 64),
    );
  }

  /** A dense copy of a KV-cache view. */
  function materialise(t: Tensor): Tensor {
    const { buffer, rowsPerBatch } = DawnTensor.view(t, 'view');
    const [B, length, X] = t.shape;
    if (rowsPerBatch === undefined) throw new Error('materialise: not a view');
    const out = alloc(t.shape, t.dtype);
    queue.dispatch(
      kernels.kvCache.copy_rows,
      {
        b: B,
        rows: length,
        x: X,
        src_len: rowsPerBatch,
        src_start: 0,
        dst_len: length,
        dst_start: 0,
      },
      { src: buffer, dst: b(out, '') },
      ceilDiv(B * length * X, 64),
    );
    return out;
  }

  const decodeLoop: DecodeLoopOps = {
    maskPrefix(mask, length) {
      const [B, Smax] = mask.shape;
      const out = alloc([B, length], 'i32');
      copyRows(mask, out, {
        b: B,
        rows: length,
        x: 1,
        src_len: Smax,
        src_start: 0,
        dst_len: length,
        dst_start: 0,
      });
      return out;
    },
    advance(t, p) {
      const B = numel(t.next.shape);
      queue.dispatch(
        kernels.decode.advance,
        { b: B, step: p.step, pad: p.pad, n_eos: p.eosCount },
        {
          next: b(t.next, 'next'),
          eos: b(t.eos, 'eos'),
          current: b(t.current, 'current'),
          positions: b(t.positions, 'positions'),
          done_at: b(t.doneAt, 'doneAt'),
          history: b(t.history, 'history'),
        },
        ceilDiv(B, 64),
      );
    },
  };

  const backend: DawnBackend = {
    name: `dawn(${dev.adapter.description} · ${dev.adapter.api})`,
    kind: 'dawn',
    adapter: dev.adapter,
    liveBuffers: () => pool.live,
    transfers: () => ({ ...counter }),
    async sync() {
      await queue.sync();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await queue.sync().catch(() => undefined);
      for (const t of ropeTables.values()) DawnTensor.detach(t)?.destroy();
      pool.destroy();
      queue.destroy();
      device.destroy();
    },

    generate(config, w, opts) {
      return generateOnDevice(backend, decodeLoop, config, w, opts);
    },

    upload,
    zeros(shape, dtype = 'f32') {
      const t = alloc(shape, dtype);
      queue.clear(b(t, 'zeros'), numel(shape) * 4);
      return t;
    },
    async read(t) {
      const bytes = numel(t.shape) * 4;
      // a KV-cache view is first copied out densely
      const dense = (t as DawnTensor).viewRowsPerBatch === undefined ? t : materialise(t);
      const data = bytes === 0 ? new ArrayBuffer(0) : await queue.read(b(dense, 'read'), bytes);
      if (dense !== t) backend.dispose(dense);
      counter.reads++;
      counter.bytesDown += bytes;
      return t.dtype === 'i32' ? new Int32Array(data) : new Float32Array(data);
    },
    dispose(t) {
      const buffer = DawnTensor.detach(t);
      if (buffer) pool.release(buffer);
    },
    sliceRows(x, start, count) {
      const rows = x.shape[0];
      if (start < 0 || count < 0 || start + count > rows) {
        throw new Error(
          `sliceRows: rows [${start}, ${start + count}) outside [0, ${rows}) of [${x.shape}]`,
        );
      }
      const width = numel(x.shape) / rows;
      const out = alloc([count, ...x.shape.slice(1)], x.dtype);
      if (count * width > 0)
        queue.copy(b(x, 'sliceRows x'), start * width * 4, b(out, ''), 0, count * width * 4);
      return out;
    },
    concatRows(parts) {
      if (parts.length === 0) throw new Error('concatRows: no parts');
      const [first] = parts;
      const tail = first.shape.slice(1);
      const rows = parts.reduce((n, p) => n + p.shape[0], 0);
      const out = alloc([rows, ...tail], first.dtype);
      let offset = 0;
      for (const p of parts) {
        if (p.dtype !== first.dtype || p.shape.slice(1).join() !== tail.join()) {
          throw new Error(
            `concatRows: part [${p.shape}] ${p.dtype} does not match [${first.shape}] ${first.dtype}`,
          );
        }
        const bytes = numel(p.shape) * 4;
        if (bytes > 0) queue.copy(b(p, 'concatRows part'), 0, b(out, ''), offset, bytes);
        offset += bytes;
      }
      return out;
    },

    embeddingForward(ids, table) {
      expectDtype(ids, 'i32', 'embeddingForward ids');
      const [V, C] = table.shape;
      const n = numel(ids.shape);
      const out = alloc([n, C]);
      queue.dispatch(
        kernels.embedding.gather,
        { n, c: C, v: V },
        { ids: b(ids, 'ids'), src: b(table, 'table'), out: b(out, '') },
        ceilDiv(n * C, 64),
      );
      return out;
    },
    embeddingBackward(ids, dOut, vocabSize) {
      expectDtype(ids, 'i32', 'embeddingBackward ids');
      const C = dOut.shape[dOut.shape.length - 1];
      const n = numel(ids.shape);
      const dTable = alloc([vocabSize, C]);
      queue.clear(b(dTable, ''), vocabSize * C * 4);
      queue.dispatch(
        kernels.embedding.scatter_add,
        { n, c: C, v: vocabSize },
        { ids: b(ids, 'ids'), src: b(dOut, 'dOut'), out: b(dTable, '') },
        ceilDiv(C, 64),
      );
      return dTable;
    },

    matmul(a, m, opts = {}) {
      const transA = opts.transA ?? false;
      const transB = opts.transB ?? false;
      const [a0, a1] = a.shape;
      const [b0, b1] = m.shape;
      const [M, K] = transA ? [a1, a0] : [a0, a1];
      const [Kb, N] = transB ? [b1, b0] : [b0, b1];
      if (a.shape.length !== 2 || m.shape.length !== 2 || K !== Kb) {
        throw new Error(
          `matmul: op(a) of [${a.shape}] (transA ${transA}) and op(b) of [${m.shape}] (transB ${transB}) do not chain`,
        );
      }
      const out = alloc([M, N]);
      const variant = options.matmul === 'tile64' && M >= 64 ? 'tile64' : 'tile16';
      const tile = MATMUL_TILE[variant];
      queue.dispatch(
        variant === 'tile64' ? kernels.matmulTile64.matmul : kernels.matmul.matmul,
        { m: M, n: N, k: K },
        { a: b(a, 'matmul a'), b: b(m, 'matmul b'), out: b(out, '') },
        [ceilDiv(N, tile), ceilDiv(M, tile)],
        { TRANS_A: Number(transA), TRANS_B: Number(transB) },
      );
      return out;
    },
    add(x, y) {
      sameSize(x, y, 'add');
      const n = numel(x.shape);
      const out = alloc(x.shape);
      queue.dispatch(
        kernels.elementwise.add,
        { n, c: 1, s: 0 },
        { a: b(x, 'add a'), b: b(y, 'add b'), out: b(out, '') },
        ceilDiv(n, 64),
      );
      return out;
    },
    scale(x, s) {
      const n = numel(x.shape);
      const out = alloc(x.shape);
      queue.dispatch(
        kernels.elementwise.scale,
        { n, c: 1, s },
        { a: b(x, 'scale x'), out: b(out, '') },
        ceilDiv(n, 64),
      );
      return out;
    },
    addBias(x, bias) {
      const c = bias.shape[0];
      if (x.shape[x.shape.length - 1] !== c)
        throw new Error(`addBias: x [${x.shape}] vs bias [${bias.shape}]`);
      const n = numel(x.shape);
      const out = alloc(x.shape);
      queue.dispatch(
        kernels.elementwise.add_bias,
        { n, c, s: 0 },
        { a: b(x, 'addBias x'), b: b(bias, 'bias'), out: b(out, '') },
        ceilDiv(n, 64),
      );
      return out;
    },
    sumRows(x) {
      const cols = x.shape[x.shape.length - 1];
      const rows = numel(x.shape) / cols;
      const out = alloc([cols]);
      queue.dispatch(
        kernels.reduce.sum_rows,
        { rows, cols, n: 0, groups: 0 },
        { x: b(x, 'sumRows x'), out: b(out, '') },
        ceilDiv(cols, 64),
      );
      return out;
    },
    sumSquares(x) {
      const n = numel(x.shape);
      const groups = Math.max(1, Math.min(1024, ceilDiv(n, 256)));
      const partial = alloc([groups]);
      const out = alloc([1]);
      queue.dispatch(
        kernels.reduce.sum_squares,
        { rows: 0, cols: 0, n, groups },
        { x: b(x, 'sumSquares x'), out: b(partial, '') },
        [groups, 1],
      );
      queue.dispatch(
        kernels.reduce.sum_partials,
        { rows: 0, cols: 0, n: groups, groups: 1 },
        { x: b(partial, ''), out: b(out, '') },
        [1, 1],
      );
      backend.dispose(partial);
      return out;
    },

    rmsnormForward(x, weight, eps) {
      const c = weight.shape[0];
      const n = numel(x.shape) / c;
      if (!Number.isInteger(n))
        throw new Error(`rmsnormForward: x [${x.shape}] vs weight [${weight.shape}]`);
      const out = alloc(x.shape);
      const rstd = alloc([n]);
      queue.dispatch(
        kernels.rmsnorm.forward,
        { n, c, eps },
        {
          x: b(x, 'rmsnorm x'),
          w: b(weight, 'rmsnorm weight'),
          out: b(out, ''),
          rstd_out: b(rstd, ''),
        },
        n,
      );
      return { out, rstd };
    },
    rmsnormBackward(x, weight, rstd, dOut) {
      const c = weight.shape[0];
      const n = numel(x.shape) / c;
      sameSize(x, dOut, 'rmsnormBackward');
      const dInput = alloc(x.shape);
      const dWeight = alloc(weight.shape);
      const bufs = {
        x: b(x, 'x'),
        w: b(weight, 'weight'),
        rstd: b(rstd, 'rstd'),
        d_out: b(dOut, 'dOut'),
      };
      queue.dispatch(
        kernels.rmsnorm.backward_input,
        { n, c, eps: 0 },
        { ...bufs, out: b(dInput, '') },
        n,
      );
      queue.dispatch(
        kernels.rmsnorm.backward_weight,
        { n, c, eps: 0 },
        { x: bufs.x, rstd: bufs.rstd, d_out: bufs.d_out, out: b(dWeight, '') },
        ceilDiv(c, 64),
      );
      return { dInput, dWeight };
    },

    ropeForward(x, positions, opts) {
      return rope(x, positions, opts, 1, 'ropeForward');
    },
    ropeBackward(dOut, positions, opts) {
      return rope(dOut, positions, opts, -1, 'ropeBackward');
    },

    attentionForward(q, k, v, keyMask, opts) {
      const p = attentionParams(q, k, keyMask, opts);
      sameSize(k, v, 'attentionForward k/v');
      // k and v may be KV-cache views (kvCachePrefix): rows per batch = the cache's Smax
      const kView = DawnTensor.view(k, 'k');
      const vView = DawnTensor.view(v, 'v');
      if (kView.rowsPerBatch !== vView.rowsPerBatch) {
        throw new Error(
          'attentionForward: k and v must both be KV-cache views of equal length, or both dense',
        );
      }
      const out = alloc(q.shape);
      const lse = alloc([p.b, p.h, p.t]);
      queue.dispatch(
        kernels.attention.forward,
        { ...p, kv_rows: kView.rowsPerBatch ?? p.s },
        {
          q: b(q, 'q'),
          k: kView.buffer,
          v: vView.buffer,
          mask: b(keyMask, 'keyMask'),
          out: b(out, ''),
          lse: b(lse, ''),
        },
        p.b * p.h * p.t,
      );
      return { out, lse };
    },
    attentionBackward(q, k, v, keyMask, out, lse, dOut, opts) {
      const p = attentionParams(q, k, keyMask, opts);
      const rows = p.b * p.h * p.t;
      const delta = alloc([p.b, p.h, p.t]);
      const dq = alloc(q.shape);
      const dk = alloc(k.shape);
      const dv = alloc(v.shape);
      const common = {
        q: b(q, 'q'),
        k: b(k, 'k'),
        v: b(v, 'v'),
        mask: b(keyMask, 'keyMask'),
        lse: b(lse, 'lse'),
        d_out: b(dOut, 'dOut'),
      };
      queue.dispatch(
        kernels.attention.delta_rows,
        p,
        { out: b(out, 'out'), d_out: common.d_out, delta: b(delta, '') },
        ceilDiv(rows, 64),
      );
      queue.dispatch(
        kernels.attention.dq_rows,
        p,
        { ...common, dq: b(dq, ''), delta_in: b(delta, '') },
        rows,
      );
      queue.dispatch(
        kernels.attention.dkv_rows,
        p,
        { ...common, dk: b(dk, ''), dv: b(dv, ''), delta_in: b(delta, '') },
        p.b * p.k * p.s,
      );
      backend.dispose(delta);
      return { dq, dk, dv };
    },
    kvCacheWrite(cache, rows, start) {
      const [B, Smax, X] = cache.shape;
      const T = numel(rows.shape) / (B * X);
      if (!Number.isInteger(T) || start < 0 || start + T > Smax) {
        throw new Error(
          `kvCacheWrite: rows [${rows.shape}] at ${start} do not fit cache [${cache.shape}]`,
        );
      }
      copyRows(rows, cache, {
        b: B,
        rows: T,
        x: X,
        src_len: T,
        src_start: 0,
        dst_len: Smax,
        dst_start: start,
      });
    },
    kvCachePrefix(cache, length) {
      const [B, Smax, X] = cache.shape;
      if (length < 0 || length > Smax)
        throw new Error(`kvCachePrefix: length ${length} outside [0, ${Smax}]`);
      // A view: attention reads the cache in place instead of a copy per decode step.
      return new DawnTensor(b(cache, 'kvCachePrefix cache'), [B, length, X], cache.dtype, Smax);
    },

    swigluForward(gate, up) {
      sameSize(gate, up, 'swigluForward');
      const n = numel(gate.shape);
      const out = alloc(gate.shape);
      queue.dispatch(
        kernels.swiglu.forward,
        { n },
        { gate: b(gate, 'gate'), up: b(up, 'up'), out: b(out, '') },
        ceilDiv(n, 64),
      );
      return out;
    },
    swigluBackward(gate, up, dOut) {
      sameSize(gate, up, 'swigluBackward');
      sameSize(gate, dOut, 'swigluBackward');
      const n = numel(gate.shape);
      const dGate = alloc(gate.shape);
      const dUp = alloc(up.shape);
      queue.dispatch(
        kernels.swiglu.backward,
        { n },
        {
          gate: b(gate, 'gate'),
          up: b(up, 'up'),
          d_out: b(dOut, 'dOut'),
          out: b(dGate, ''),
          d_up: b(dUp, ''),
        },
        ceilDiv(n, 64),
      );
      return { dGate, dUp };
    },

    vocabStats(logits, targets, opts) {
      const [N, V] = logits.shape;
      expectDtype(targets, 'i32', 'vocabStats targets');
      checkTemperature(opts.temperature);
      const out = alloc([N, opts.stats.length]);
      queue.dispatch(
        kernels.vocab.stats,
        {
          n: N,
          v: V,
          inv_t: 1 / opts.temperature,
          ...statCodes(opts.stats),
          lse_col: 0,
          lse_stride: 0,
        },
        { logits: b(logits, 'logits'), targets: b(targets, 'targets'), stats_out: b(out, '') },
        N,
      );
      return out;
    },
    vocabGrad(logits, targets, statValues, coeffs, opts) {
      const [N, V] = logits.shape;
      const S = opts.stats.length;
      expectDtype(targets, 'i32', 'vocabGrad targets');
      checkTemperature(opts.temperature);
      if (numel(statValues.shape) !== N * S || numel(coeffs.shape) !== N * S) {
        throw new Error(
          `vocabGrad: statValues [${statValues.shape}] and coeffs [${coeffs.shape}] must be [${N}, ${S}]`,
        );
      }
      // p_j needs lse; when the caller did not ask for it, compute it here.
      let lseSource = statValues;
      let lseCol = opts.stats.indexOf('lse');
      let lseStride = S;
      const needsLse = opts.stats.some((s: VocabStatName) => s === 'ez' || s === 's2');
      if (lseCol < 0 && needsLse) {
        lseSource = backend.vocabStats(logits, targets, {
          temperature: opts.temperature,
          stats: ['lse'],
        });
        lseCol = 0;
        lseStride = 1;
      }
      const dz = alloc([N, V]);
      queue.dispatch(
        kernels.vocab.grad_logits,
        {
          n: N,
          v: V,
          inv_t: 1 / opts.temperature,
          ...statCodes(opts.stats),
          lse_col: Math.max(0, lseCol),
          lse_stride: lseStride,
        },
        {
          logits: b(logits, 'logits'),
          targets: b(targets, 'targets'),
          stat_values: b(statValues, 'statValues'),
          coeffs: b(coeffs, 'coeffs'),
          lse_source: b(lseSource, 'lse'),
          grad: b(dz, ''),
        },
        N,
      );
      if (lseSource !== statValues) backend.dispose(lseSource);
      return dz;
    },

    sample(logits, presence, uniforms, params: SamplingParams) {
      const [B, V] = logits.shape;
      expectDtype(presence, 'i32', 'sample presence');
      sameSize(logits, presence, 'sample presence');
      if (numel(uniforms.shape) !== B)
        throw new Error(`sample: uniforms [${uniforms.shape}] must be [${B}]`);
      const ids = alloc([B], 'i32');
      const probs = alloc([B, V]);
      queue.dispatch(
        kernels.sample.sample,
        {
          b: B,
          v: V,
          temperature: params.temperature,
          top_p: params.topP,
          top_k: params.topK,
          penalty: params.repetitionPenalty,
        },
        {
          logits: b(logits, 'logits'),
          presence: b(presence, 'presence'),
          uniforms: b(uniforms, 'uniforms'),
          ids: b(ids, ''),
          probs: b(probs, ''),
        },
        [B, 1],
      );
      backend.dispose(probs);
      return ids;
    },
    markPresent(presence, ids) {
      const [B, V] = presence.shape;
      expectDtype(presence, 'i32', 'markPresent presence');
      expectDtype(ids, 'i32', 'markPresent ids');
      queue.dispatch(
        kernels.sample.mark_present,
        { b: B, v: V, temperature: 0, top_p: 1, top_k: 0, penalty: 1 },
        { ids: b(ids, 'ids'), presence_out: b(presence, 'presence') },
        ceilDiv(B, 64),
      );
    },

    adamwUpdate(param, grad, m, v, p: AdamWParams) {
      const n = numel(param.shape);
      for (const [t, what] of [
        [grad, 'grad'],
        [m, 'm'],
        [v, 'v'],
      ] as const)
        sameSize(param, t, `adamwUpdate ${what}`);
      queue.dispatch(
        kernels.optimizer.adamw,
        {
          n,
          lr: p.lr,
          beta1: p.beta1,
          beta2: p.beta2,
          eps: p.eps,
          weight_decay: p.weightDecay,
          step_size: p.lr / (1 - p.beta1 ** p.step),
          sqrt_bc2: Math.sqrt(1 - p.beta2 ** p.step),
          grad_scale: p.gradScale,
        },
        { param: b(param, 'param'), grad: b(grad, 'grad'), m: b(m, 'm'), v: b(v, 'v') },
        ceilDiv(n, 64),
      );
    },
    sgdUpdate(param, grad, p: SgdParams) {
      const n = numel(param.shape);
      sameSize(param, grad, 'sgdUpdate grad');
      queue.dispatch(
        kernels.optimizer.sgd,
        {
          n,
          lr: p.lr,
          beta1: 0,
          beta2: 0,
          eps: 0,
          weight_decay: p.weightDecay,
          step_size: 0,
          sqrt_bc2: 1,
          grad_scale: p.gradScale,
        },
        { param: b(param, 'param'), grad: b(grad, 'grad') },
        ceilDiv(n, 64),
      );
    },
  };
  return backend;
}

function checkTemperature(t: number): void {
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`vocab statistics: temperature = ${t}; expected a finite number > 0`);
}
