/**
 * The primitive interface every executor implements: the CPU reference (reference/),
 * ONNX Runtime (backend-ort) and Dawn/WebGPU (backend-dawn). Core writes the model once
 * over these (model/forward.ts, model/backward.ts); a backend implements them and passes
 * the conformance suite exported from `@oneshot-em/core/testing`.
 *
 * Semantics are functional unless a method says "in place": an op returns a new tensor and
 * never changes its inputs. Eager backends run (or enqueue) at once; a tracing backend
 * may record and run at `read`. Only `read` returns data to the host.
 *
 * Shapes use the legend of model/config.ts. Matrices are row-major; weights are [out, in].
 * Only the element layout matters: the model passes activations as 2-D [N, X] (= [B, T, X]
 * row-major), so attention and the KV-cache ops take B and S from keyMask / cache shapes and
 * derive T from the element count of q / rows.
 */

export type DType = 'f32' | 'i32';

/** A tensor handle. Core owns the type; a backend's handle carries whatever it needs privately. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type VocabStatName = 'lse' | 'ez' | 'zy' | 'mz' | 's2';

export interface RopeOptions {
  /** H for q, K for k */
  heads: number;
  /** D */
  headDim: number;
  theta: number;
  style: 'half' | 'interleaved';
}

export interface AttentionOptions {
  /** H */
  heads: number;
  /** K; H % K === 0 (query head h reads kv head floor(h / (H / K))) */
  kvHeads: number;
  /** D; scores are scaled by 1/sqrt(D) */
  headDim: number;
  /**
   * Causal rule: query row t (of T) sits at key index `queryOffset + t` and attends to key
   * indices s ≤ queryOffset + t with keyMask[b, s] = 1. Training: queryOffset 0, S = T.
   * Decode: S = cache length so far, T = new positions.
   */
  queryOffset: number;
}

export interface SamplingParams {
  /** 0 means greedy (argmax after the repetition penalty). */
  temperature: number;
  /** 1 disables. */
  topP: number;
  /** 0 disables. */
  topK: number;
  /** 1 disables. CTRL-style: logit > 0 → logit / p, else logit · p, for every token present. */
  repetitionPenalty: number;
  /**
   * Min-p (transformers' MinPLogitsWarper): drop every token whose probability after the
   * temperature is below minP · the largest probability. 0 or absent disables.
   */
  minP?: number;
}

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
  /** Multiplies the gradient before use (global-norm clipping factor). */
  gradScale: number;
}

export interface SgdParams {
  lr: number;
  weightDecay: number;
  gradScale: number;
}

export interface TensorOps {
  // ---- data movement -------------------------------------------------------------------
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  dispose(t: Tensor): void;
  /** x [N, …] → rows [start, start + count) as [count, …] (a view or a copy). */
  sliceRows(x: Tensor, start: number, count: number): Tensor;
  /** parts [Nᵢ, …] (same trailing shape and dtype) → [Σ Nᵢ, …] */
  concatRows(parts: readonly Tensor[]): Tensor;

  // ---- embedding -----------------------------------------------------------------------
  /** ids [N] i32, table [V, C] → [N, C] */
  embeddingForward(ids: Tensor, table: Tensor): Tensor;
  /** ids [N], dOut [N, C] → dTable [V, C] (scatter-add of rows; new tensor) */
  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor;

  // ---- dense ---------------------------------------------------------------------------
  /** op(a) [M, K] · op(b) [K, N] → [M, N]; op transposes when asked. */
  matmul(a: Tensor, b: Tensor, opts?: { transA?: boolean; transB?: boolean }): Tensor;
  /** a + b, same shape */
  add(a: Tensor, b: Tensor): Tensor;
  /** x · s */
  scale(x: Tensor, s: number): Tensor;
  /** x [N, C] + bias [C] */
  addBias(x: Tensor, bias: Tensor): Tensor;
  /** x [N, C] → [C] (column sums: the bias gradient) */
  sumRows(x: Tensor): Tensor;
  /** Σ x² over all elements → [1] */
  sumSquares(x: Tensor): Tensor;

  // ---- rmsnorm -------------------------------------------------------------------------
  /** x [N, C], weight [C] → out [N, C], rstd [N] (1 / sqrt(mean(x²) + eps)) */
  rmsnormForward(x: Tensor, weight: Tensor, eps: number): { out: Tensor; rstd: Tensor };
  /** → dInput [N, C], dWeight [C] */
  rmsnormBackward(
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    dOut: Tensor,
  ): { dInput: Tensor; dWeight: Tensor };

  // ---- rope ----------------------------------------------------------------------------
  /** x [N, heads·D], positions [N] i32 → [N, heads·D] */
  ropeForward(x: Tensor, positions: Tensor, opts: RopeOptions): Tensor;
  /** The inverse rotation applied to dOut. */
  ropeBackward(dOut: Tensor, positions: Tensor, opts: RopeOptions): Tensor;

  // ---- attention -----------------------------------------------------------------------
  /**
   * q [B, T, H·D], k/v [B, S, K·D], keyMask [B, S] i32 (1 = real token) →
   * out [B, T, H·D], lse [B, H, T] (log-sum-exp of the scaled scores; saved for backward).
   * A query row with no visible key outputs zeros and lse = -Infinity.
   */
  attentionForward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor,
    opts: AttentionOptions,
  ): { out: Tensor; lse: Tensor };
  /** → dq [B, T, H·D], dk/dv [B, S, K·D] */
  attentionBackward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor,
    out: Tensor,
    lse: Tensor,
    dOut: Tensor,
    opts: AttentionOptions,
  ): { dq: Tensor; dk: Tensor; dv: Tensor };
  /** In place: cache [B, Smax, K·D] rows [start, start + T) ← rows [B, T, K·D]. */
  kvCacheWrite(cache: Tensor, rows: Tensor, start: number): void;
  /** cache [B, Smax, X] → [B, length, X] (a view or a copy). */
  kvCachePrefix(cache: Tensor, length: number): Tensor;

  // ---- mlp -----------------------------------------------------------------------------
  /** silu(gate) · up, both [N, F] */
  swigluForward(gate: Tensor, up: Tensor): Tensor;
  swigluBackward(gate: Tensor, up: Tensor, dOut: Tensor): { dGate: Tensor; dUp: Tensor };

  // ---- vocabulary statistics (docs/architecture.md#objectives) -----------------------
  /**
   * logits [N, V], targets [N] i32 → [N, S] with S = stats.length, columns in `stats` order,
   * at `temperature`, fp32 accumulation with max subtraction, softmax never materialised.
   */
  vocabStats(
    logits: Tensor,
    targets: Tensor,
    opts: { temperature: number; stats: readonly VocabStatName[] },
  ): Tensor;
  /**
   * dL/dz [N, V] = Σ_s coeffs[n, s] · d stat_s / dz, given the values from vocabStats
   * (statValues [N, S]) and the per-token coefficients dL/dstat (coeffs [N, S]).
   */
  vocabGrad(
    logits: Tensor,
    targets: Tensor,
    statValues: Tensor,
    coeffs: Tensor,
    opts: { temperature: number; stats: readonly VocabStatName[] },
  ): Tensor;

  // ---- sampling ------------------------------------------------------------------------
  /**
   * logits [B, V], presence [B, V] i32 (1 where the token occurred in prompt or output),
   * uniforms [B] f32 in [0, 1) → ids [B] i32. Order: repetition penalty → temperature →
   * top-p → top-k → categorical draw (inverse CDF over the kept tokens in descending
   * probability order, ties by lower id); temperature 0 → argmax (ties by lower id).
   */
  sample(logits: Tensor, presence: Tensor, uniforms: Tensor, params: SamplingParams): Tensor;
  /** In place: presence[b, ids[b]] = 1. */
  markPresent(presence: Tensor, ids: Tensor): void;

  // ---- optimizers (in place on param and state) ----------------------------------------
  /** torch.optim.AdamW semantics (decoupled decay: p -= lr·wd·p before the Adam step). */
  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamWParams): void;
  /** p -= lr · (gradScale·g + wd·p) */
  sgdUpdate(param: Tensor, grad: Tensor, p: SgdParams): void;
}
