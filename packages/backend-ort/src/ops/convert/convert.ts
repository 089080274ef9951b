import { f32ToF16Into } from '@oneshot-em/core';
import { env } from 'onnxruntime-node';
import type { OrtDeviceSpec } from '../../device.js';
import { type TraceValue, traceOp } from '../../graph/trace.js';
import type { Tracer, WeightDtype } from '../../tracer.js';

/**
 * What matmul's weight operand and embedding's table read: `v` itself, or — with an f16 compute
 * copy — the f32 Cast of v's f16 copy. The copy is made on the host (a host op, so after the
 * optimizer has updated v) once per value of v, fed to the graphs in place of the f32 master
 * (half the bytes up), and widened by a Cast in the graph: products and sums stay f32. The
 * Cast depends on v alone, so inside a decode Loop it is emitted once, outside the body.
 * Only uploaded f32 matrices (weights, and the host optimizer's updates of them) get a copy.
 */
export function asWeight(ctx: Tracer, v: TraceValue): TraceValue {
  return computeCopy(ctx, v)?.f32 ?? v;
}

/** v's compute copy (made now if needed), or null where v is read as it is. */
export function computeCopy(
  ctx: Tracer,
  v: TraceValue,
): { f16: TraceValue; f32: TraceValue } | null {
  if (ctx.weightDtype === 'f32' || !v.uploaded || v.dtype !== 'f32' || v.shape.length < 2)
    return null;
  if (v.computeCopy) return v.computeCopy;
  const shape = v.shape;
  const [f16] = ctx.traceHost([v], [{ shape, dtype: 'f16' }], ([x]) => [
    toF16(x as Float32Array, shape),
  ]);
  f16.copyOf = v;
  const [f32] = traceOp([f16], [{ shape, dtype: 'f32' }], (b, [h]) => [b.cast(h.name, 'f32')]);
  v.computeCopy = { f16, f32 };
  return v.computeCopy;
}

/** f32 → f16 bits, rounded to nearest even (core's safetensors converter); overflow is an error. */
function toF16(values: Float32Array, shape: readonly number[]): Uint16Array {
  const bits = new Uint16Array(values.length);
  const at = f32ToF16Into(values, bits);
  if (at >= 0) {
    throw new Error(
      `ort backend: --dtype f16: a weight [${shape}] holds ${values[at]} at element ${at}, beyond f16's largest finite value 65504; use --dtype f32`,
    );
  }
  return bits;
}

/**
 * `--dtype` on ORT. bf16 cannot be fed: onnxruntime-node has no bfloat16 tensors. `auto` is f16
 * on CUDA for an f16 base model and f32 otherwise — on the CPU EP a compute copy only adds a
 * conversion and a Cast per weight, and a bf16 base (what `auto` makes bf16 on Dawn's GPUs)
 * would have its exponent range narrowed by f16, so it stays f32.
 */
export function resolveWeightDtype(
  requested: 'auto' | 'f32' | 'bf16' | 'f16',
  baseDtype: 'f32' | 'bf16' | 'f16' | undefined,
  device: OrtDeviceSpec,
): WeightDtype {
  if (requested === 'bf16') {
    throw new Error(
      `ort backend: --dtype bf16 is not supported by onnxruntime-node ${env.versions.node ?? env.versions.common}: it has no bfloat16 tensors; use --dtype f16 or f32`,
    );
  }
  if (requested === 'auto') return device.kind === 'cuda' && baseDtype === 'f16' ? 'f16' : 'f32';
  if (requested !== 'f32' && requested !== 'f16')
    throw new Error(`ort backend: --dtype ${requested}; expected auto, f32, bf16 or f16`);
  return requested;
}
