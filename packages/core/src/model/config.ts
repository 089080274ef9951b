/**
 * The normalised model configuration every layer of the project works from.
 * Parsed from a Hugging Face `config.json` by `parseModelConfig` (io/hf-config.ts).
 *
 * Shape legend used throughout `model/`, `reference/` and the backends:
 *   B batch, T positions (query), S positions (key), N = B·T tokens,
 *   C hidden, F intermediate (MLP), V vocab, L layers, H heads, K kv heads, D head dim.
 */
export type ModelType = 'llama' | 'qwen2';

/** `half`: Hugging Face rotate-half (x[i], x[i+D/2]); `interleaved`: llama2.c / Meta (x[2i], x[2i+1]). */
export type RopeStyle = 'half' | 'interleaved';

export interface ModelConfig {
  modelType: ModelType;
  /** C */
  hiddenSize: number;
  /** F */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** H */
  numHeads: number;
  /** K (GQA: H is a multiple of K) */
  numKvHeads: number;
  /** D */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeStyle: RopeStyle;
  maxPositionEmbeddings: number;
  /** V */
  vocabSize: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (always for qwen2; llama's `attention_bias`). */
  qkvBias: boolean;
  /** o_proj carries a bias (llama's `attention_bias`; never for qwen2). */
  oBias: boolean;
  bosTokenId: number | null;
  /** One or more EOS ids (HF allows a list). */
  eosTokenIds: number[];
  padTokenId: number | null;
  torchDtype: 'float32' | 'float16' | 'bfloat16';
}
