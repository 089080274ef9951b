import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../backend/tensor-ops.js';
import type { ModelGrads } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { paramSpecs } from '../model/params.js';
import type { ModelWeights } from '../model/weights.js';

export interface OptimizerConfig {
  kind: 'adamw' | 'sgd';
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** fp32 optimizer state on the backend (AdamW's m and v; SGD keeps none). */
export interface OptimizerState {
  /** optimizer updates done so far (AdamW's bias-correction step) */
  step: number;
  m: Map<string, Tensor>;
  v: Map<string, Tensor>;
}

export function createOptimizerState(
  backend: Backend,
  config: ModelConfig,
  kind: OptimizerConfig['kind'],
  opts: { onDevice?: boolean } = {},
): OptimizerState {
  const m = new Map<string, Tensor>();
  const v = new Map<string, Tensor>();
  // onDevice false: the moments live on the host (offload.ts); none are allocated here
  if (kind === 'adamw' && opts.onDevice !== false) {
    for (const s of paramSpecs(config)) {
      m.set(s.name, backend.zeros(s.shape));
      v.set(s.name, backend.zeros(s.shape));
    }
  }
  return { step: 0, m, v };
}

/**
 * The global L2 norm of a set of tensors (one scalar read) — of the gradients, as
 * torch.nn.utils.clip_grad_norm_ computes it before clipping.
 */
export async function globalGradNorm(
  backend: Backend,
  grads: Map<string, Tensor>,
): Promise<number> {
  let total: Tensor | undefined;
  for (const g of grads.values()) {
    const s = backend.sumSquares(g);
    if (total) {
      const t = backend.add(total, s);
      backend.dispose(total);
      backend.dispose(s);
      total = t;
    } else total = s;
  }
  if (!total) return 0;
  const host = await backend.read(total);
  backend.dispose(total);
  return Math.sqrt(host[0]);
}

/** torch's clip factor: min(1, maxNorm / (norm + 1e-6)); maxNorm 0 disables clipping. */
export function clipFactor(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** One optimizer update of every parameter, in place on the backend. */
export function optimizerUpdate(
  backend: Backend,
  w: ModelWeights,
  grads: ModelGrads,
  state: OptimizerState,
  cfg: OptimizerConfig,
  gradScale: number,
): void {
  state.step += 1;
  for (const [name, g] of grads) {
    const p = w.get(name);
    if (!p) throw new Error(`optimizer: gradient for unknown parameter ${name}`);
    if (cfg.kind === 'adamw') {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!m || !v) throw new Error(`optimizer: no AdamW state for ${name}`);
      backend.adamwUpdate(p, g, m, v, {
        lr: cfg.lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        weightDecay: cfg.weightDecay,
        step: state.step,
        gradScale,
      });
    } else {
      backend.sgdUpdate(p, g, { lr: cfg.lr, weightDecay: cfg.weightDecay, gradScale });
    }
  }
}
