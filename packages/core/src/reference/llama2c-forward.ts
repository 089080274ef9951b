/**
 * An independent forward of a llama2.c checkpoint straight from its stored tensors, one token
 * at a time with its own KV cache, the way llama2.c's run.c does it (interleaved RoPE), in
 * f64. It shares no code with model/ or the reference ops: it is the oracle that the model
 * written over `TensorOps`, and the conversion to Hugging Face layout, are checked against.
 */
import type { Llama2cCheckpoint } from '../io/llama2c.js';

/** y [rows] = W [rows, cols] · x [cols] */
function matvec(w: Float32Array, x: Float64Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsnorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * weight[i]);
}

/** Rotates pairs (2i, 2i+1) of every head of `v` in place, by pos · 10000^(−2i/D). */
function ropeInterleaved(v: Float64Array, headDim: number, pos: number): void {
  for (let j = 0; j < v.length; j += 2) {
    const i = (j % headDim) / 2;
    const angle = pos * 10000 ** ((-2 * i) / headDim);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const [a, b] = [v[j], v[j + 1]];
    v[j] = a * c - b * s;
    v[j + 1] = a * s + b * c;
  }
}

/** tokens [T] → logits [T, V] (f64), positions 0 … T−1. */
export function llama2cForward(ckpt: Llama2cCheckpoint, tokens: readonly number[]): Float64Array {
  const { header: h, weights: w } = ckpt;
  const dim = h.dim;
  const headDim = dim / h.nHeads;
  const kvDim = h.nKvHeads * headDim;
  const group = h.nHeads / h.nKvHeads;
  const eps = 1e-5;
  const keyCache = Array.from({ length: h.nLayers }, () => [] as Float64Array[]);
  const valueCache = Array.from({ length: h.nLayers }, () => [] as Float64Array[]);
  const logits = new Float64Array(tokens.length * h.vocabSize);

  tokens.forEach((token, pos) => {
    const x = Float64Array.from(w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < h.nLayers; l++) {
      const xb = rmsnorm(x, w.rmsAtt[l], eps);
      const q = matvec(w.wq[l], xb, dim, dim);
      const k = matvec(w.wk[l], xb, kvDim, dim);
      const v = matvec(w.wv[l], xb, kvDim, dim);
      ropeInterleaved(q, headDim, pos);
      ropeInterleaved(k, headDim, pos);
      keyCache[l].push(k);
      valueCache[l].push(v);

      const att = new Float64Array(dim);
      for (let head = 0; head < h.nHeads; head++) {
        const kvOffset = Math.floor(head / group) * headDim;
        const scores = keyCache[l].map((key) => {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += q[head * headDim + d] * key[kvOffset + d];
          return s / Math.sqrt(headDim);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        valueCache[l].forEach((value, t) => {
          for (let d = 0; d < headDim; d++)
            att[head * headDim + d] += (e[t] / sum) * value[kvOffset + d];
        });
      }
      const o = matvec(w.wo[l], att, dim, dim);
      for (let i = 0; i < dim; i++) x[i] += o[i];

      const xf = rmsnorm(x, w.rmsFfn[l], eps);
      const gate = matvec(w.w1[l], xf, h.hiddenDim, dim);
      const up = matvec(w.w3[l], xf, h.hiddenDim, dim);
      const hb = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = matvec(w.w2[l], hb, dim, h.hiddenDim);
      for (let i = 0; i < dim; i++) x[i] += down[i];
    }
    const xFinal = rmsnorm(x, w.rmsFinal, eps);
    logits.set(matvec(w.wcls, xFinal, h.vocabSize, dim), pos * h.vocabSize);
  });
  return logits;
}
