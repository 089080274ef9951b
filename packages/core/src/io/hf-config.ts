import { z } from 'zod';
import type { ModelConfig, ModelType } from '../model/config.js';
import { SIZE_LIMITS, type SizeField, sizeRangeText } from './size-limits.js';

/**
 * Hugging Face `config.json` ⇄ the normalised `ModelConfig`, for `model_type` llama and qwen2.
 * Fields the file may omit take the transformers class defaults; anything that would change
 * the computation in a way the project does not implement (rope scaling, sliding window, MLP
 * biases, another activation) is rejected by name rather than silently ignored.
 */

/** A config.json that cannot be used: `file` and `field` say where, the message what was expected. */
export class ModelConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${message}`);
    this.name = 'ModelConfigError';
  }
}

/** A size field, bounded (size-limits.ts) so that nothing huge is allocated from it. */
const size = (field: SizeField) =>
  z
    .number({ error: sizeRangeText(field) })
    .int(sizeRangeText(field))
    .min(1, sizeRangeText(field))
    .max(SIZE_LIMITS[field], sizeRangeText(field));
const positiveNumber = z
  .number({ error: 'expected a positive number' })
  .positive('expected a positive number');
const tokenId = z
  .number({ error: 'expected a token id (integer ≥ 0) or null' })
  .int('expected a token id (integer ≥ 0) or null')
  .nonnegative('expected a token id (integer ≥ 0) or null');
const flag = z.boolean({ error: 'expected true or false' });

const dtypeSchema = z.enum(['float32', 'float16', 'bfloat16'], {
  error: 'expected "float32", "float16" or "bfloat16"',
});

const shared = {
  hidden_size: size('hidden_size'),
  intermediate_size: size('intermediate_size'),
  num_hidden_layers: size('num_hidden_layers'),
  num_attention_heads: size('num_attention_heads'),
  num_key_value_heads: size('num_key_value_heads').nullish(),
  head_dim: size('head_dim').nullish(),
  rms_norm_eps: positiveNumber.optional(),
  rope_theta: positiveNumber.optional(),
  max_position_embeddings: size('max_position_embeddings').optional(),
  vocab_size: size('vocab_size'),
  tie_word_embeddings: flag.optional(),
  hidden_act: z
    .literal('silu', { error: 'expected "silu" (the only activation implemented)' })
    .optional(),
  bos_token_id: tokenId.nullish(),
  eos_token_id: z
    .union([tokenId, z.array(tokenId)], { error: 'expected a token id or a list of token ids' })
    .nullish(),
  pad_token_id: tokenId.nullish(),
  torch_dtype: dtypeSchema.nullish(),
  /** transformers ≥ 5 writes `dtype` instead of `torch_dtype`. */
  dtype: dtypeSchema.nullish(),
};

const llamaSchema = z.object({
  model_type: z.literal('llama'),
  ...shared,
  attention_bias: flag.optional(),
  mlp_bias: z
    .literal(false, { error: 'expected false (MLP biases are not implemented)' })
    .optional(),
});

const qwen2Schema = z.object({
  model_type: z.literal('qwen2'),
  ...shared,
  use_sliding_window: z
    .literal(false, { error: 'expected false (sliding-window attention is not implemented)' })
    .optional(),
});

/** transformers' class defaults for the fields a config.json may leave out. */
const DEFAULTS: Record<ModelType, { maxPositionEmbeddings: number }> = {
  llama: { maxPositionEmbeddings: 2048 },
  qwen2: { maxPositionEmbeddings: 32768 },
};

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = json;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * RoPE scaling: only "none" is implemented. Absent, null and the explicit `default` kind
 * (transformers ≥ 4.45 / 5 write `{rope_type: "default"}`) mean plain RoPE; any other kind is
 * rejected by its name. Returns a theta carried inside `rope_parameters` (transformers 5).
 */
function checkRopeScaling(json: Record<string, unknown>, file: string): number | undefined {
  let theta: number | undefined;
  for (const field of ['rope_scaling', 'rope_parameters']) {
    const v = json[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new ModelConfigError(file, field, `expected null or an object, got ${describe(v)}`);
    }
    const r = v as Record<string, unknown>;
    const kind = r.rope_type ?? r.type;
    if (kind !== undefined && kind !== 'default') {
      throw new ModelConfigError(
        file,
        field,
        `rope scaling of type ${describe(kind)} is not supported (expected null: plain RoPE)`,
      );
    }
    if (kind === undefined && field === 'rope_scaling') {
      throw new ModelConfigError(file, field, `expected null (plain RoPE), got ${describe(v)}`);
    }
    if (r.rope_theta !== undefined) {
      if (typeof r.rope_theta !== 'number' || !(r.rope_theta > 0)) {
        throw new ModelConfigError(
          file,
          `${field}.rope_theta`,
          `expected a positive number, got ${describe(r.rope_theta)}`,
        );
      }
      theta = r.rope_theta;
    }
  }
  return theta;
}

/** Parses a Hugging Face config.json (already JSON-decoded); `file` names it in errors. */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelConfigError(file, '', `expected a JSON object, got ${describe(json)}`);
  }
  const obj = json as Record<string, unknown>;
  const modelType = obj.model_type;
  if (modelType !== 'llama' && modelType !== 'qwen2') {
    throw new ModelConfigError(
      file,
      'model_type',
      `expected "llama" or "qwen2", got ${describe(modelType)}`,
    );
  }
  const result = (modelType === 'llama' ? llamaSchema : qwen2Schema).safeParse(obj);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.map(String).join('.');
    throw new ModelConfigError(
      file,
      path,
      `${issue.message}, got ${describe(valueAt(obj, issue.path))}`,
    );
  }
  const c = result.data;
  const ropeThetaInParameters = checkRopeScaling(obj, file);

  const numHeads = c.num_attention_heads;
  const numKvHeads = c.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigError(
      file,
      'num_key_value_heads',
      `expected a divisor of num_attention_heads (${numHeads}), got ${numKvHeads}`,
    );
  }
  let headDim = c.head_dim ?? undefined;
  if (headDim === undefined) {
    if (c.hidden_size % numHeads !== 0) {
      throw new ModelConfigError(
        file,
        'head_dim',
        `absent, so hidden_size (${c.hidden_size}) must be a multiple of num_attention_heads (${numHeads})`,
      );
    }
    headDim = c.hidden_size / numHeads;
  }
  if (headDim > SIZE_LIMITS.head_dim) {
    throw new ModelConfigError(
      file,
      'head_dim',
      `hidden_size / num_attention_heads = ${headDim}; ${sizeRangeText('head_dim')}`,
    );
  }
  if (headDim % 2 !== 0) {
    throw new ModelConfigError(
      file,
      'head_dim',
      `expected an even head dimension (RoPE rotates pairs), got ${headDim}`,
    );
  }
  const eos = c.eos_token_id;
  const attentionBias = c.model_type === 'llama' ? (c.attention_bias ?? false) : false;
  return {
    modelType: c.model_type,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? ropeThetaInParameters ?? 10000,
    ropeStyle: 'half',
    maxPositionEmbeddings:
      c.max_position_embeddings ?? DEFAULTS[c.model_type].maxPositionEmbeddings,
    vocabSize: c.vocab_size,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    qkvBias: c.model_type === 'qwen2' ? true : attentionBias,
    oBias: attentionBias,
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: c.pad_token_id ?? null,
    torchDtype: c.torch_dtype ?? c.dtype ?? 'float32',
  };
}

/**
 * The config.json transformers loads for `config` (LlamaForCausalLM / Qwen2ForCausalLM).
 * Only rotate-half RoPE exists in transformers: an interleaved config (a llama2.c import before
 * conversion) cannot be written — convert its weights first.
 */
export function modelConfigToHfJson(config: ModelConfig): Record<string, unknown> {
  if (config.ropeStyle !== 'half') {
    throw new Error(
      `modelConfigToHfJson: ropeStyle "${config.ropeStyle}" has no Hugging Face equivalent (expected "half"); permute the q/k rows first`,
    );
  }
  if (config.modelType === 'qwen2' && (!config.qkvBias || config.oBias)) {
    throw new Error('modelConfigToHfJson: qwen2 always has q/k/v biases and no o_proj bias');
  }
  if (config.modelType === 'llama' && config.qkvBias !== config.oBias) {
    throw new Error(
      'modelConfigToHfJson: llama has biases on all of q/k/v/o (attention_bias) or on none',
    );
  }
  const eos = config.eosTokenIds;
  const json: Record<string, unknown> = {
    architectures: [config.modelType === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM'],
    model_type: config.modelType,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_act: 'silu',
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    max_position_embeddings: config.maxPositionEmbeddings,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: eos.length === 0 ? null : eos.length === 1 ? eos[0] : eos,
    pad_token_id: config.padTokenId,
    torch_dtype: config.torchDtype,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
  };
  if (config.modelType === 'llama') {
    json.attention_bias = config.oBias;
    json.mlp_bias = false;
    json.pretraining_tp = 1;
  } else {
    json.use_sliding_window = false;
    json.sliding_window = null;
    json.max_window_layers = config.numLayers;
  }
  return json;
}
