import type { Tensor, TensorOps } from '../backend/tensor-ops.js';
import type { ModelConfig } from './config.js';
import { EMBED, LM_HEAD, numel, paramSpecs, type WeightMap } from './params.js';

/** The model's parameters on a backend, by Hugging Face name (shapes as in `paramSpecs`). */
export type ModelWeights = Map<string, Tensor>;

/**
 * Uploads every parameter of `paramSpecs(config)`; a missing or mis-sized one is an error.
 * `release`: delete each entry from `weights` once uploaded (the host copy can be freed
 * tensor by tensor instead of living next to the backend's). `uploaded`: called with each
 * tensor right after its upload (the offloaded trainer hands it to `keepComputeCopyOnly`).
 */
export function uploadWeights(
  ops: TensorOps,
  config: ModelConfig,
  weights: WeightMap,
  opts: { release?: boolean; uploaded?: (t: Tensor) => void } = {},
): ModelWeights {
  const out: ModelWeights = new Map();
  for (const spec of paramSpecs(config)) {
    const values = weights.get(spec.name);
    if (!values) throw new Error(`uploadWeights: parameter '${spec.name}' is missing`);
    if (values.length !== numel(spec.shape)) {
      throw new Error(
        `uploadWeights: parameter '${spec.name}' has ${values.length} values; expected [${spec.shape}] = ${numel(spec.shape)}`,
      );
    }
    const t = ops.upload(values, spec.shape);
    opts.uploaded?.(t);
    out.set(spec.name, t);
    if (opts.release) weights.delete(spec.name);
  }
  return out;
}

/** The [V, C] matrix the head multiplies by: lm_head, or the embedding when tied. */
export function headWeightName(config: ModelConfig): string {
  return config.tieWordEmbeddings ? EMBED : LM_HEAD;
}

export function weight(w: ModelWeights, name: string): Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`model weights have no parameter '${name}'`);
  return t;
}
