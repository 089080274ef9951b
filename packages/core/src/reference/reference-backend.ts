import type { Backend, TransferCounter } from '../backend/backend.js';
import type {
  AdamWParams,
  AttentionOptions,
  DType,
  RopeOptions,
  SamplingParams,
  SgdParams,
  Tensor,
} from '../backend/tensor-ops.js';
import { numel } from '../model/params.js';
import { vocabGradReference, vocabStatsReference } from './vocab.js';
import { sampleRow } from '../sampling/sampler.js';
import * as attention from './attention.js';
import * as elementwise from './elementwise.js';
import * as embedding from './embedding.js';
import * as kvCache from './kv-cache.js';
import { matmul } from './matmul.js';
import * as optimizers from './optimizers.js';
import * as rmsnorm from './rmsnorm.js';
import * as rope from './rope.js';
import type { Floats } from './storage.js';
import * as swiglu from './swiglu.js';

export type ReferencePrecision = 'f32' | 'f64';

/** A host tensor: f32 tensors are stored as Float32Array or Float64Array by precision. */
export class ReferenceTensor implements Tensor {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: Floats | Int32Array,
  ) {}
}

type FloatTensor = ReferenceTensor & { readonly data: Floats };

/** The reference backend, plus exact (f64) host access for gradient checks. */
export interface ReferenceBackend extends Backend {
  readonly kind: 'reference';
  readonly precision: ReferencePrecision;
  /** Like `upload`, keeping f64 values when the precision is f64. */
  uploadExact(data: Float64Array | Float32Array, shape: readonly number[]): Tensor;
  /** The stored values (Float64Array at f64 precision), copied. */
  readExact(t: Tensor): Float64Array | Float32Array | Int32Array;
}

/**
 * The CPU reference executor of `TensorOps`: plain loops over host arrays (reference/*.ts),
 * the oracle for every other backend. Precision 'f64' stores every float tensor in double
 * precision (for finite-difference checks); 'f32' rounds each op's output to f32 like a device.
 */
export function createReferenceBackend(options: {
  precision: ReferencePrecision;
}): ReferenceBackend {
  const { precision } = options;
  const counter: TransferCounter = { uploads: 0, reads: 0, bytesUp: 0, bytesDown: 0 };
  const floats = (n: number): Floats =>
    precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
  // memory(): bytes of the tensors made and not yet disposed (the WeakSet: a tensor counts once)
  const live = new WeakSet<ReferenceTensor>();
  let liveBytes = 0;
  let peakBytes = 0;
  const tensor = (shape: readonly number[], data: Floats | Int32Array) => {
    const t = new ReferenceTensor([...shape], data instanceof Int32Array ? 'i32' : 'f32', data);
    live.add(t);
    liveBytes += data.byteLength;
    peakBytes = Math.max(peakBytes, liveBytes);
    return t;
  };
  const newFloat = (shape: readonly number[]) => tensor(shape, floats(numel(shape))) as FloatTensor;

  function dataOf(t: Tensor, what: string): Floats | Int32Array {
    if (!(t instanceof ReferenceTensor)) {
      throw new Error(`${what}: not a tensor of this reference backend`);
    }
    return t.data;
  }
  function floatsOf(t: Tensor, what: string): Floats {
    const data = dataOf(t, what);
    if (data instanceof Int32Array) {
      throw new Error(`${what}: expected an f32 tensor, got i32 [${t.shape}]`);
    }
    return data;
  }
  function intsOf(t: Tensor, what: string): Int32Array {
    const data = dataOf(t, what);
    if (!(data instanceof Int32Array)) {
      throw new Error(`${what}: expected an i32 tensor, got f32 [${t.shape}]`);
    }
    return data;
  }
  function sameLength(a: Tensor, b: Tensor, what: string): void {
    if (numel(a.shape) !== numel(b.shape))
      throw new Error(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  function upload(
    data: Float64Array | Float32Array | Int32Array,
    shape: readonly number[],
  ): Tensor {
    if (data.length !== numel(shape)) {
      throw new Error(`upload: ${data.length} values do not fill shape [${shape}]`);
    }
    counter.uploads++;
    counter.bytesUp += data.byteLength;
    if (data instanceof Int32Array) return tensor(shape, data.slice());
    const out = floats(data.length);
    out.set(data);
    return tensor(shape, out);
  }
  function readExact(t: Tensor): Float64Array | Float32Array | Int32Array {
    return dataOf(t, 'readExact').slice();
  }
  return {
    name: `reference(${precision})`,
    kind: 'reference',
    precision,
    async sync() {},
    async destroy() {},
    transfers: () => ({ ...counter }),
    uploadExact: upload,
    readExact,

    upload,
    zeros(shape, dtype = 'f32') {
      return dtype === 'i32' ? tensor(shape, new Int32Array(numel(shape))) : newFloat(shape);
    },
    async read(t) {
      const data = dataOf(t, 'read');
      counter.reads++;
      counter.bytesDown += data instanceof Int32Array ? data.byteLength : data.length * 4;
      return data instanceof Int32Array ? data.slice() : Float32Array.from(data);
    },
    dispose(t) {
      if (t instanceof ReferenceTensor && live.delete(t)) liveBytes -= t.data.byteLength;
    },
    memory: () => ({ liveBytes, peakBytes }),
    resetPeakMemory() {
      peakBytes = liveBytes;
    },
    sliceRows(x, start, count) {
      const rows = x.shape[0];
      if (start < 0 || count < 0 || start + count > rows) {
        throw new Error(
          `sliceRows: rows [${start}, ${start + count}) outside [0, ${rows}) of [${x.shape}]`,
        );
      }
      const width = numel(x.shape.slice(1));
      const data = dataOf(x, 'sliceRows').slice(start * width, (start + count) * width);
      return tensor([count, ...x.shape.slice(1)], data);
    },
    concatRows(parts) {
      if (parts.length === 0) throw new Error('concatRows: no parts');
      const [first] = parts;
      const tail = first.shape.slice(1);
      const rows = parts.reduce((n, p) => n + p.shape[0], 0);
      const out =
        first.dtype === 'i32' ? new Int32Array(rows * numel(tail)) : floats(rows * numel(tail));
      let offset = 0;
      for (const p of parts) {
        if (p.dtype !== first.dtype || p.shape.slice(1).join() !== tail.join()) {
          throw new Error(
            `concatRows: part [${p.shape}] ${p.dtype} does not match [${first.shape}] ${first.dtype}`,
          );
        }
        const data = dataOf(p, 'concatRows');
        out.set(data, offset);
        offset += data.length;
      }
      return tensor([rows, ...tail], out);
    },

    embeddingForward(ids, table) {
      const [V, C] = table.shape;
      const out = newFloat([numel(ids.shape), C]);
      embedding.embeddingForward(
        out.data,
        intsOf(ids, 'embeddingForward ids'),
        floatsOf(table, 'embeddingForward table'),
        C,
        V,
      );
      return out;
    },
    embeddingBackward(ids, dOut, vocabSize) {
      const C = dOut.shape[dOut.shape.length - 1];
      const dTable = newFloat([vocabSize, C]);
      embedding.embeddingBackward(
        dTable.data,
        intsOf(ids, 'embeddingBackward ids'),
        floatsOf(dOut, 'embeddingBackward dOut'),
        C,
      );
      return dTable;
    },

    matmul(a, b, opts = {}) {
      const transA = opts.transA ?? false;
      const transB = opts.transB ?? false;
      const [a0, a1] = a.shape;
      const [b0, b1] = b.shape;
      const [M, K] = transA ? [a1, a0] : [a0, a1];
      const [Kb, N] = transB ? [b1, b0] : [b0, b1];
      if (a.shape.length !== 2 || b.shape.length !== 2 || K !== Kb) {
        throw new Error(
          `matmul: op(a) of [${a.shape}] (transA ${transA}) and op(b) of [${b.shape}] (transB ${transB}) do not chain`,
        );
      }
      const out = newFloat([M, N]);
      matmul(out.data, floatsOf(a, 'matmul a'), floatsOf(b, 'matmul b'), M, K, N, transA, transB);
      return out;
    },
    add(a, b) {
      sameLength(a, b, 'add');
      const out = newFloat(a.shape);
      elementwise.add(out.data, floatsOf(a, 'add a'), floatsOf(b, 'add b'));
      return out;
    },
    accumulate(acc, x) {
      sameLength(acc, x, 'accumulate');
      const a = floatsOf(acc, 'accumulate acc');
      elementwise.add(a, a, floatsOf(x, 'accumulate x'));
    },
    scale(x, s) {
      const out = newFloat(x.shape);
      elementwise.scale(out.data, floatsOf(x, 'scale x'), s);
      return out;
    },
    addBias(x, bias) {
      if (x.shape[x.shape.length - 1] !== bias.shape[0])
        throw new Error(`addBias: x [${x.shape}] vs bias [${bias.shape}]`);
      const out = newFloat(x.shape);
      elementwise.addBias(out.data, floatsOf(x, 'addBias x'), floatsOf(bias, 'addBias bias'));
      return out;
    },
    sumRows(x) {
      const out = newFloat([x.shape[x.shape.length - 1]]);
      elementwise.sumRows(out.data, floatsOf(x, 'sumRows x'));
      return out;
    },
    sumSquares(x) {
      const out = newFloat([1]);
      out.data[0] = elementwise.sumSquares(floatsOf(x, 'sumSquares x'));
      return out;
    },

    rmsnormForward(x, weight, eps) {
      const out = newFloat(x.shape);
      const rstd = newFloat([numel(x.shape) / weight.shape[0]]);
      rmsnorm.rmsnormForward(
        out.data,
        rstd.data,
        floatsOf(x, 'rmsnorm x'),
        floatsOf(weight, 'rmsnorm weight'),
        eps,
      );
      return { out, rstd };
    },
    rmsnormBackward(x, weight, rstd, dOut) {
      const dInput = newFloat(x.shape);
      const dWeight = newFloat(weight.shape);
      rmsnorm.rmsnormBackward(
        dInput.data,
        dWeight.data,
        floatsOf(x, 'x'),
        floatsOf(weight, 'weight'),
        floatsOf(rstd, 'rstd'),
        floatsOf(dOut, 'dOut'),
      );
      return { dInput, dWeight };
    },

    ropeForward(x, positions, opts: RopeOptions) {
      const out = newFloat(x.shape);
      rope.ropeForward(out.data, floatsOf(x, 'rope x'), intsOf(positions, 'rope positions'), opts);
      return out;
    },
    ropeBackward(dOut, positions, opts: RopeOptions) {
      const dInput = newFloat(dOut.shape);
      rope.ropeBackward(
        dInput.data,
        floatsOf(dOut, 'rope dOut'),
        intsOf(positions, 'rope positions'),
        opts,
      );
      return dInput;
    },

    attentionForward(q, k, v, keyMask, opts: AttentionOptions) {
      const dims = attention.attentionDims(numel(q.shape), keyMask.shape, opts);
      const out = newFloat(q.shape);
      const lse = newFloat([dims.B, opts.heads, dims.T]);
      attention.attentionForward(
        out.data,
        lse.data,
        floatsOf(q, 'q'),
        floatsOf(k, 'k'),
        floatsOf(v, 'v'),
        intsOf(keyMask, 'keyMask'),
        dims,
        opts,
      );
      return { out, lse };
    },
    attentionBackward(q, k, v, keyMask, out, lse, dOut, opts: AttentionOptions) {
      const dims = attention.attentionDims(numel(q.shape), keyMask.shape, opts);
      const dq = newFloat(q.shape);
      const dk = newFloat(k.shape);
      const dv = newFloat(v.shape);
      attention.attentionBackward(
        dq.data,
        dk.data,
        dv.data,
        floatsOf(q, 'q'),
        floatsOf(k, 'k'),
        floatsOf(v, 'v'),
        intsOf(keyMask, 'keyMask'),
        floatsOf(out, 'out'),
        floatsOf(lse, 'lse'),
        floatsOf(dOut, 'dOut'),
        dims,
        opts,
      );
      return { dq, dk, dv };
    },
    kvCacheWrite(cache, rows, start) {
      const [B, Smax, X] = cache.shape;
      kvCache.kvCacheWrite(
        floatsOf(cache, 'kvCacheWrite cache'),
        floatsOf(rows, 'kvCacheWrite rows'),
        B,
        Smax,
        X,
        start,
      );
    },
    kvCachePrefix(cache, length) {
      const [B, Smax, X] = cache.shape;
      const out = newFloat([B, length, X]);
      kvCache.kvCachePrefix(out.data, floatsOf(cache, 'kvCachePrefix cache'), B, Smax, X, length);
      return out;
    },

    swigluForward(gate, up) {
      sameLength(gate, up, 'swigluForward');
      const out = newFloat(gate.shape);
      swiglu.swigluForward(out.data, floatsOf(gate, 'gate'), floatsOf(up, 'up'));
      return out;
    },
    swigluBackward(gate, up, dOut) {
      const dGate = newFloat(gate.shape);
      const dUp = newFloat(up.shape);
      swiglu.swigluBackward(
        dGate.data,
        dUp.data,
        floatsOf(gate, 'gate'),
        floatsOf(up, 'up'),
        floatsOf(dOut, 'dOut'),
      );
      return { dGate, dUp };
    },

    vocabStats(logits, targets, opts) {
      const [N, V] = logits.shape;
      const values = vocabStatsReference(
        floatsOf(logits, 'vocabStats logits'),
        intsOf(targets, 'vocabStats targets'),
        N,
        V,
        opts,
      );
      return upload(values, [N, opts.stats.length]);
    },
    vocabGrad(logits, targets, statValues, coeffs, opts) {
      const [N, V] = logits.shape;
      const dz = vocabGradReference(
        floatsOf(logits, 'vocabGrad logits'),
        intsOf(targets, 'vocabGrad targets'),
        floatsOf(statValues, 'statValues'),
        floatsOf(coeffs, 'coeffs'),
        N,
        V,
        opts,
      );
      return upload(dz, [N, V]);
    },

    sample(logits, presence, uniformsTensor, params: SamplingParams) {
      const [B, V] = logits.shape;
      const z = floatsOf(logits, 'sample logits');
      const present = intsOf(presence, 'sample presence');
      const u = floatsOf(uniformsTensor, 'sample uniforms');
      const ids = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        ids[b] = sampleRow(
          z.subarray(b * V, (b + 1) * V),
          present.subarray(b * V, (b + 1) * V),
          u[b],
          params,
        );
      }
      return tensor([B], ids);
    },
    markPresent(presence, ids) {
      const [B, V] = presence.shape;
      const present = intsOf(presence, 'markPresent presence');
      const id = intsOf(ids, 'markPresent ids');
      for (let b = 0; b < B; b++) present[b * V + id[b]] = 1;
    },

    adamwUpdate(param, grad, m, v, p: AdamWParams) {
      optimizers.adamwUpdate(
        floatsOf(param, 'param'),
        floatsOf(grad, 'grad'),
        floatsOf(m, 'm'),
        floatsOf(v, 'v'),
        p,
      );
    },
    sgdUpdate(param, grad, p: SgdParams) {
      optimizers.sgdUpdate(floatsOf(param, 'param'), floatsOf(grad, 'grad'), p);
    },
  };
}
