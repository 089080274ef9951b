import type { AdamWParams, SgdParams } from '../backend/tensor-ops.js';
import type { Floats } from './storage.js';

/**
 * torch.optim.AdamW, step by step as torch computes it (in place on param, m, v):
 *   g = gradScale · grad;  p ← p · (1 − lr · wd)
 *   m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²
 *   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)
 */
export function adamwUpdate(
  param: Floats,
  grad: Floats,
  m: Floats,
  v: Floats,
  p: AdamWParams,
): void {
  const bias1 = 1 - p.beta1 ** p.step;
  const bias2Sqrt = Math.sqrt(1 - p.beta2 ** p.step);
  const stepSize = p.lr / bias1;
  const decay = 1 - p.lr * p.weightDecay;
  for (let i = 0; i < param.length; i++) {
    const g = p.gradScale * grad[i];
    m[i] = p.beta1 * m[i] + (1 - p.beta1) * g;
    v[i] = p.beta2 * v[i] + (1 - p.beta2) * g * g;
    const denom = Math.sqrt(v[i]) / bias2Sqrt + p.eps;
    param[i] = param[i] * decay - (stepSize * m[i]) / denom;
  }
}

/** p ← p − lr · (gradScale · g + wd · p) (in place) */
export function sgdUpdate(param: Floats, grad: Floats, p: SgdParams): void {
  for (let i = 0; i < param.length; i++) {
    param[i] -= p.lr * (p.gradScale * grad[i] + p.weightDecay * param[i]);
  }
}
