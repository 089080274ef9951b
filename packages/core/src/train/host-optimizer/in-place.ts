import type { AdamWParams, SgdParams } from '../../backend/tensor-ops.js';

/**
 * The host optimizers, ZeRO-offload style: the ORT backend's adamwUpdate/sgdUpdate (onnxruntime-node
 * cannot keep a tensor on the GPU between runs, so a parameter, its gradient and its moments
 * cross the bus every run anyway) and the trainer's with optimizerOn 'host' on any backend
 * (train/offload.ts): on the host the f32 master weights and moments (3× the model) take no
 * device memory, which bounds it to compute weights, gradients and one micro-batch's activations.
 *
 * Both kernels update their arrays IN PLACE and allocate nothing. They are the exact operation
 * sequence of core's reference (reference/optimizers.ts: torch.optim.AdamW, decoupled decay),
 * in f64 per element and rounded to f32 where the reference stores, so results are bit-for-bit
 * the reference's. pool.ts runs adamwInPlace on worker threads over slices; the
 * workers get it as source text (Function.prototype.toString), so it must stay self-contained:
 * no imports, no closures, no inner functions.
 *
 * Both return Σ p² of the updated parameters (f64): the trainer's finiteness check of the
 * weights then needs no second pass over them.
 */
export function adamwInPlace(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  p: AdamWParams,
): number {
  const bias1 = 1 - p.beta1 ** p.step;
  const bias2Sqrt = Math.sqrt(1 - p.beta2 ** p.step);
  const stepSize = p.lr / bias1;
  const decay = 1 - p.lr * p.weightDecay;
  const beta1 = p.beta1;
  const beta2 = p.beta2;
  const oneMinusBeta1 = 1 - p.beta1;
  const oneMinusBeta2 = 1 - p.beta2;
  const eps = p.eps;
  const gradScale = p.gradScale;
  const n = param.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const g = gradScale * grad[i];
    // fround = what the reference reads back after storing into its f32 array.
    const mi = Math.fround(beta1 * m[i] + oneMinusBeta1 * g);
    const vi = Math.fround(beta2 * v[i] + oneMinusBeta2 * g * g);
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(vi) / bias2Sqrt + eps;
    const pi = Math.fround(param[i] * decay - (stepSize * mi) / denom);
    param[i] = pi;
    sum += pi * pi;
  }
  return sum;
}

/**
 * p ← p − lr · (gradScale·g + wd·p), in place. One pass, memory-bound: copying a parameter
 * into shared memory for a worker would cost more than the update, so SGD runs inline.
 */
export function sgdInPlace(param: Float32Array, grad: Float32Array, p: SgdParams): number {
  const lr = p.lr;
  const gradScale = p.gradScale;
  const weightDecay = p.weightDecay;
  const n = param.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const pi = Math.fround(param[i] - lr * (gradScale * grad[i] + weightDecay * param[i]));
    param[i] = pi;
    sum += pi * pi;
  }
  return sum;
}
