/**
 * llama2.c checkpoints (karpathy/llama2.c, legacy "v0" layout): a 7 × int32 header
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
 * means an untied classifier at the end), then f32 tensors, row-major [out, in]:
 * token_embedding [V, C], rms_att [L, C], wq [L, H·D, C], wk [L, K·D, C], wv [L, K·D, C],
 * wo [L, C, H·D], rms_ffn [L, C], w1 [L, F, C], w2 [L, C, F], w3 [L, F, C], rms_final [C],
 * two legacy RoPE tables [seq_len, D/2] each (skipped), and wcls [V, C] when untied.
 */
import type { ModelConfig } from '../model/config.js';
import { EMBED, FINAL_NORM, LM_HEAD, layerParamNames, type WeightMap } from '../model/params.js';
import { firstNonFinite, nonFiniteText } from './non-finite.js';
import { SIZE_LIMITS, type SizeField } from './size-limits.js';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/** The checkpoint's tensors as stored, per layer where llama2.c stacks layers. */
export interface Llama2cWeights {
  tokenEmbedding: Float32Array;
  rmsAtt: Float32Array[];
  wq: Float32Array[];
  wk: Float32Array[];
  wv: Float32Array[];
  wo: Float32Array[];
  rmsFfn: Float32Array[];
  w1: Float32Array[];
  w2: Float32Array[];
  w3: Float32Array[];
  rmsFinal: Float32Array;
  /** the classifier: tokenEmbedding itself when shared */
  wcls: Float32Array;
}

export interface Llama2cCheckpoint {
  header: Llama2cHeader;
  weights: Llama2cWeights;
}

const HEADER_BYTES = 7 * 4;
/** The tensors llama2.c stores one per layer, back to back. */
const STACKED = new Set(['rms_att', 'wq', 'wk', 'wv', 'wo', 'rms_ffn', 'w1', 'w2', 'w3']);

/** Parses a legacy (v0) llama2.c checkpoint; `source` names the file in errors. */
export function parseLlama2c(bytes: Uint8Array, source: string): Llama2cCheckpoint {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new Error(
      `${source}: ${bytes.byteLength} bytes is shorter than the 28-byte llama2.c header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from(
    { length: 7 },
    (_, i) => view.getInt32(i * 4, true),
  );
  const fields = {
    dim,
    hidden_dim: hiddenDim,
    n_layers: nLayers,
    n_heads: nHeads,
    n_kv_heads: nKvHeads,
    seq_len: seqLen,
  };
  // the same bounds as config.json's (size-limits.ts), checked before the size arithmetic
  const limitOf: Record<keyof typeof fields, SizeField> = {
    dim: 'hidden_size',
    hidden_dim: 'intermediate_size',
    n_layers: 'num_hidden_layers',
    n_heads: 'num_attention_heads',
    n_kv_heads: 'num_key_value_heads',
    seq_len: 'max_position_embeddings',
  };
  for (const [name, value] of Object.entries(fields) as [keyof typeof fields, number][]) {
    const max = SIZE_LIMITS[limitOf[name]];
    if (!(value > 0) || value > max)
      throw new Error(
        `${source}: header field ${name} = ${value}; expected an integer in [1, ${max}]`,
      );
  }
  if (rawVocab === 0 || Math.abs(rawVocab) > SIZE_LIMITS.vocab_size)
    throw new Error(
      `${source}: header field vocab_size = ${rawVocab}; expected a non-zero integer of magnitude at most ${SIZE_LIMITS.vocab_size} (negative: untied classifier)`,
    );
  if (dim % nHeads !== 0)
    throw new Error(`${source}: dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0)
    throw new Error(`${source}: n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  const header: Llama2cHeader = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(rawVocab),
    seqLen,
    sharedClassifier: rawVocab > 0,
  };
  const headDim = dim / nHeads;
  const kvDim = nKvHeads * headDim;
  const V = header.vocabSize;
  const perLayer = (rows: number, cols: number) =>
    Array.from({ length: nLayers }, () => rows * cols);
  const layout: Array<[string, number[]]> = [
    ['token_embedding', [V * dim]],
    ['rms_att', perLayer(1, dim)],
    ['wq', perLayer(dim, dim)],
    ['wk', perLayer(kvDim, dim)],
    ['wv', perLayer(kvDim, dim)],
    ['wo', perLayer(dim, dim)],
    ['rms_ffn', perLayer(1, dim)],
    ['w1', perLayer(hiddenDim, dim)],
    ['w2', perLayer(dim, hiddenDim)],
    ['w3', perLayer(hiddenDim, dim)],
    ['rms_final', [dim]],
    ['freq_cis', [seqLen * (headDim / 2) * 2]],
  ];
  if (!header.sharedClassifier) layout.push(['wcls', [V * dim]]);
  const expectedFloats = layout.reduce((n, [, sizes]) => n + sizes.reduce((a, b) => a + b, 0), 0);
  const expectedBytes = HEADER_BYTES + expectedFloats * 4;
  if (bytes.byteLength !== expectedBytes) {
    throw new Error(
      `${source}: ${bytes.byteLength} bytes, but the header (dim ${dim}, hidden_dim ${hiddenDim}, n_layers ${nLayers}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${rawVocab}, seq_len ${seqLen}) implies ${expectedBytes}`,
    );
  }
  // copy out of the file buffer (it need not be 4-byte aligned) once, then take views
  const floats = new Float32Array(expectedFloats);
  for (let i = 0; i < expectedFloats; i++) floats[i] = view.getFloat32(HEADER_BYTES + i * 4, true);
  let offset = 0;
  const tensors = new Map<string, Float32Array[]>();
  for (const [name, sizes] of layout) {
    tensors.set(
      name,
      sizes.map((n, layer) => {
        const t = floats.subarray(offset, offset + n);
        offset += n;
        // the legacy RoPE tables are skipped, so their values do not matter
        const bad = name === 'freq_cis' ? -1 : firstNonFinite(t);
        if (bad >= 0) {
          const label = STACKED.has(name) ? `${name}[layer ${layer}]` : name;
          throw new Error(`${source}: tensor "${label}"[${bad}] ${nonFiniteText(t[bad])}`);
        }
        return t;
      }),
    );
  }
  const one = (name: string) => (tensors.get(name) as Float32Array[])[0];
  const all = (name: string) => tensors.get(name) as Float32Array[];
  const weights: Llama2cWeights = {
    tokenEmbedding: one('token_embedding'),
    rmsAtt: all('rms_att'),
    wq: all('wq'),
    wk: all('wk'),
    wv: all('wv'),
    wo: all('wo'),
    rmsFfn: all('rms_ffn'),
    w1: all('w1'),
    w2: all('w2'),
    w3: all('w3'),
    rmsFinal: one('rms_final'),
    wcls: header.sharedClassifier ? one('token_embedding') : one('wcls'),
  };
  return { header, weights };
}

/**
 * The checkpoint as a Llama config + weights in Hugging Face names, unchanged otherwise:
 * RoPE stays `interleaved` (llama2.c's convention). `toHalfRope` gives the HF-convention model.
 * w1 → gate_proj, w3 → up_proj, w2 → down_proj.
 */
export function llama2cToModel(ckpt: Llama2cCheckpoint): {
  config: ModelConfig;
  weights: WeightMap;
} {
  const { header: h, weights: w } = ckpt;
  const config: ModelConfig = {
    modelType: 'llama',
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.nLayers,
    numHeads: h.nHeads,
    numKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'interleaved',
    maxPositionEmbeddings: h.seqLen,
    vocabSize: h.vocabSize,
    tieWordEmbeddings: h.sharedClassifier,
    qkvBias: false,
    oBias: false,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    torchDtype: 'float32',
  };
  const weights: WeightMap = new Map();
  weights.set(EMBED, w.tokenEmbedding.slice());
  for (let l = 0; l < h.nLayers; l++) {
    const n = layerParamNames(l);
    weights.set(n.inputNorm, w.rmsAtt[l].slice());
    weights.set(n.qWeight, w.wq[l].slice());
    weights.set(n.kWeight, w.wk[l].slice());
    weights.set(n.vWeight, w.wv[l].slice());
    weights.set(n.oWeight, w.wo[l].slice());
    weights.set(n.postNorm, w.rmsFfn[l].slice());
    weights.set(n.gateWeight, w.w1[l].slice());
    weights.set(n.downWeight, w.w2[l].slice());
    weights.set(n.upWeight, w.w3[l].slice());
  }
  weights.set(FINAL_NORM, w.rmsFinal.slice());
  if (!h.sharedClassifier) weights.set(LM_HEAD, w.wcls.slice());
  return { config, weights };
}

/**
 * Reorders the rows of a q or k projection [heads·D, C] per head so that rotate-half RoPE on
 * the new rows equals interleaved RoPE on the old: new row i (i < D/2) is old row 2i, new
 * row D/2 + i is old row 2i + 1. Returns a new array.
 */
export function permuteForHalfRope(w: Float32Array, heads: number, headDim: number): Float32Array {
  const cols = w.length / (heads * headDim);
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim; i++) {
      const from = i < half ? 2 * i : 2 * (i - half) + 1;
      const src = (h * headDim + from) * cols;
      out.set(w.subarray(src, src + cols), (h * headDim + i) * cols);
    }
  }
  return out;
}

/** An interleaved-RoPE model made Hugging Face-conventional: q/k rows permuted, style `half`. */
export function toHalfRope(model: { config: ModelConfig; weights: WeightMap }): {
  config: ModelConfig;
  weights: WeightMap;
} {
  const { config } = model;
  if (config.ropeStyle === 'half') return model;
  const weights: WeightMap = new Map(model.weights);
  for (let l = 0; l < config.numLayers; l++) {
    const n = layerParamNames(l);
    weights.set(
      n.qWeight,
      permuteForHalfRope(weights.get(n.qWeight) as Float32Array, config.numHeads, config.headDim),
    );
    weights.set(
      n.kWeight,
      permuteForHalfRope(weights.get(n.kWeight) as Float32Array, config.numKvHeads, config.headDim),
    );
  }
  return { config: { ...config, ropeStyle: 'half' }, weights };
}
