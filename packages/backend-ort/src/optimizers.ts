import type { AdamWParams, SgdParams } from '@oneshot-em/core';

/**
 * The optimizers run on the HOST, ZeRO-offload style: onnxruntime-node cannot keep a tensor on
 * the GPU between runs, so a parameter, its gradient and its Adam moments cross the bus every
 * run whether the update is in a graph or not — and on the host the fp32 moments (2× the model)
 * never take GPU memory, which bounds it to weights + activations of one micro-batch. The
 * backend records each update as a host op in the trace and executes it once its inputs have
 * been computed (see OrtBackend.flush); the math is torch.optim.AdamW's, in f64 per element.
 */
export function adamwHost(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  p: AdamWParams,
): [Float32Array, Float32Array, Float32Array] {
  const n = param.length;
  const outP = new Float32Array(n);
  const outM = new Float32Array(n);
  const outV = new Float32Array(n);
  const bc1 = 1 - p.beta1 ** p.step;
  const bc2 = 1 - p.beta2 ** p.step;
  const stepSize = p.lr / bc1;
  const decay = 1 - p.lr * p.weightDecay;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * p.gradScale;
    const mi = p.beta1 * m[i] + (1 - p.beta1) * g;
    const vi = p.beta2 * v[i] + (1 - p.beta2) * g * g;
    outM[i] = mi;
    outV[i] = vi;
    const denom = Math.sqrt(outV[i]) / Math.sqrt(bc2) + p.eps;
    outP[i] = param[i] * decay - (stepSize * outM[i]) / denom;
  }
  return [outP, outM, outV];
}

/** p ← p − lr · (gradScale·g + wd·p) */
export function sgdHost(param: Float32Array, grad: Float32Array, p: SgdParams): Float32Array {
  const out = new Float32Array(param.length);
  for (let i = 0; i < param.length; i++)
    out[i] = param[i] - p.lr * (p.gradScale * grad[i] + p.weightDecay * param[i]);
  return out;
}
