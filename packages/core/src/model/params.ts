import type { ModelConfig } from './config.js';

/**
 * One table of the model's parameters, in Hugging Face names and [out, in] layout.
 * Everything that needs sizes (loading, saving, optimizer state, grads) derives from it.
 */
export interface ParamSpec {
  name: string;
  shape: number[];
}

export function layerParamNames(i: number) {
  const p = `model.layers.${i}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    qWeight: `${p}.self_attn.q_proj.weight`,
    qBias: `${p}.self_attn.q_proj.bias`,
    kWeight: `${p}.self_attn.k_proj.weight`,
    kBias: `${p}.self_attn.k_proj.bias`,
    vWeight: `${p}.self_attn.v_proj.weight`,
    vBias: `${p}.self_attn.v_proj.bias`,
    oWeight: `${p}.self_attn.o_proj.weight`,
    oBias: `${p}.self_attn.o_proj.bias`,
    postNorm: `${p}.post_attention_layernorm.weight`,
    gateWeight: `${p}.mlp.gate_proj.weight`,
    upWeight: `${p}.mlp.up_proj.weight`,
    downWeight: `${p}.mlp.down_proj.weight`,
  };
}

export const EMBED = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';

export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const specs: ParamSpec[] = [{ name: EMBED, shape: [c.vocabSize, C] }];
  for (let i = 0; i < c.numLayers; i++) {
    const n = layerParamNames(i);
    specs.push({ name: n.inputNorm, shape: [C] });
    specs.push({ name: n.qWeight, shape: [qDim, C] });
    if (c.qkvBias) specs.push({ name: n.qBias, shape: [qDim] });
    specs.push({ name: n.kWeight, shape: [kvDim, C] });
    if (c.qkvBias) specs.push({ name: n.kBias, shape: [kvDim] });
    specs.push({ name: n.vWeight, shape: [kvDim, C] });
    if (c.qkvBias) specs.push({ name: n.vBias, shape: [kvDim] });
    specs.push({ name: n.oWeight, shape: [C, qDim] });
    if (c.oBias) specs.push({ name: n.oBias, shape: [C] });
    specs.push({ name: n.postNorm, shape: [C] });
    specs.push({ name: n.gateWeight, shape: [F, C] });
    specs.push({ name: n.upWeight, shape: [F, C] });
    specs.push({ name: n.downWeight, shape: [C, F] });
  }
  specs.push({ name: FINAL_NORM, shape: [C] });
  if (!c.tieWordEmbeddings) specs.push({ name: LM_HEAD, shape: [c.vocabSize, C] });
  return specs;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function paramCount(c: ModelConfig): number {
  return paramSpecs(c).reduce((s, p) => s + numel(p.shape), 0);
}

/** Host-side weights: name → f32 values in the spec's shape (row-major). */
export type WeightMap = Map<string, Float32Array>;
