import { describe, expect, it } from 'vitest';
import { ModelConfigError, modelConfigToHfJson, parseModelConfig } from './hf-config.js';

// Shaped like the published Qwen2.5-0.5B-Instruct and TinyLlama-1.1B config.json files.
const qwen2 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const llama = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 32000,
};

function rejection(json: unknown): string {
  try {
    parseModelConfig(json, 'config.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ModelConfigError);
    return (e as Error).message;
  }
  throw new Error('expected parseModelConfig to reject the config');
}

describe('parseModelConfig', () => {
  it('parses a Qwen2 config: q/k/v biases, no o bias, GQA, tied, head_dim from hidden/heads', () => {
    expect(parseModelConfig(qwen2, 'config.json')).toEqual({
      modelType: 'qwen2',
      hiddenSize: 896,
      intermediateSize: 4864,
      numLayers: 24,
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      rmsNormEps: 1e-6,
      ropeTheta: 1e6,
      ropeStyle: 'half',
      maxPositionEmbeddings: 32768,
      vocabSize: 151936,
      tieWordEmbeddings: true,
      qkvBias: true,
      oBias: false,
      bosTokenId: 151643,
      eosTokenIds: [151645],
      padTokenId: null,
      torchDtype: 'bfloat16',
    });
  });

  it('parses a Llama config without biases and untied', () => {
    const c = parseModelConfig(llama, 'config.json');
    expect(c).toMatchObject({
      modelType: 'llama',
      headDim: 64,
      numKvHeads: 4,
      qkvBias: false,
      oBias: false,
    });
    expect(c).toMatchObject({
      tieWordEmbeddings: false,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      eosTokenIds: [2],
    });
  });

  it('maps llama attention_bias to q/k/v and o biases', () => {
    const c = parseModelConfig({ ...llama, attention_bias: true }, 'config.json');
    expect([c.qkvBias, c.oBias]).toEqual([true, true]);
  });

  it('takes head_dim when present, eos lists, pad id, and defaults kv heads to heads', () => {
    const { num_key_value_heads: _, ...noKv } = llama;
    const c = parseModelConfig(
      { ...noKv, head_dim: 128, eos_token_id: [2, 7], pad_token_id: 0 },
      'x.json',
    );
    expect(c).toMatchObject({ headDim: 128, numKvHeads: 32, eosTokenIds: [2, 7], padTokenId: 0 });
  });

  it('fills transformers defaults for omitted optional fields', () => {
    const c = parseModelConfig(
      {
        model_type: 'qwen2',
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 512,
      },
      'config.json',
    );
    expect(c).toMatchObject({ numKvHeads: 4, headDim: 8, rmsNormEps: 1e-6, ropeTheta: 10000 });
    expect(c).toMatchObject({
      maxPositionEmbeddings: 32768,
      tieWordEmbeddings: false,
      bosTokenId: null,
      eosTokenIds: [],
    });
    expect(c.torchDtype).toBe('float32');
  });

  it('accepts the explicit "default" rope kind of newer transformers', () => {
    const c = parseModelConfig({ ...llama, rope_scaling: { rope_type: 'default' } }, 'config.json');
    expect(c.ropeTheta).toBe(10000);
  });

  it.each([
    [
      { ...llama, model_type: 'mistral' },
      'config.json: model_type: expected "llama" or "qwen2", got "mistral"',
    ],
    [
      { ...llama, hidden_size: '2048' },
      'config.json: hidden_size: expected an integer in [1, 65536], got "2048"',
    ],
    [
      { ...llama, num_hidden_layers: 0 },
      'config.json: num_hidden_layers: expected an integer in [1, 1024], got 0',
    ],
    [
      { ...llama, intermediate_size: 12.5 },
      'config.json: intermediate_size: expected an integer in [1, 262144], got 12.5',
    ],
    [
      { ...qwen2, vocab_size: undefined },
      'config.json: vocab_size: expected an integer in [1, 4194304], got nothing',
    ],
    // sizes are bounded before anything is allocated from them (io/size-limits.ts)
    [
      { ...llama, num_hidden_layers: 1e9 },
      'config.json: num_hidden_layers: expected an integer in [1, 1024], got 1000000000',
    ],
    [
      { ...llama, max_position_embeddings: 1e12 },
      'config.json: max_position_embeddings: expected an integer in [1, 16777216], got 1000000000000',
    ],
    [
      { ...qwen2, vocab_size: 2 ** 22 + 1 },
      'config.json: vocab_size: expected an integer in [1, 4194304], got 4194305',
    ],
    [
      { ...llama, hidden_size: 131072 },
      'config.json: hidden_size: expected an integer in [1, 65536], got 131072',
    ],
    [
      { ...llama, num_attention_heads: 4096 },
      'config.json: num_attention_heads: expected an integer in [1, 1024], got 4096',
    ],
    [
      { ...llama, num_key_value_heads: 2048 },
      'config.json: num_key_value_heads: expected an integer in [1, 1024], got 2048',
    ],
    [
      { ...llama, head_dim: 4096 },
      'config.json: head_dim: expected an integer in [1, 1024], got 4096',
    ],
    [
      { ...llama, hidden_size: 65536, num_attention_heads: 32, num_key_value_heads: 32 },
      'config.json: head_dim: hidden_size / num_attention_heads = 2048; expected an integer in [1, 1024]',
    ],
    [
      { ...llama, num_key_value_heads: 5 },
      'config.json: num_key_value_heads: expected a divisor of num_attention_heads (32), got 5',
    ],
    [
      { ...llama, hidden_size: 2050 },
      'config.json: head_dim: absent, so hidden_size (2050) must be a multiple of num_attention_heads (32)',
    ],
    [{ ...llama, head_dim: 7 }, 'config.json: head_dim: expected an even head dimension'],
    [
      { ...llama, rms_norm_eps: -1 },
      'config.json: rms_norm_eps: expected a positive number, got -1',
    ],
    [
      { ...llama, rope_theta: 'big' },
      'config.json: rope_theta: expected a positive number, got "big"',
    ],
    [
      { ...llama, rope_scaling: { type: 'linear', factor: 2 } },
      'config.json: rope_scaling: rope scaling of type "linear" is not supported (expected null: plain RoPE)',
    ],
    [
      { ...llama, rope_scaling: { rope_type: 'llama3', factor: 8 } },
      'config.json: rope_scaling: rope scaling of type "llama3" is not supported',
    ],
    [
      { ...qwen2, rope_scaling: { factor: 4 } },
      'config.json: rope_scaling: expected null (plain RoPE), got {"factor":4}',
    ],
    [
      { ...llama, mlp_bias: true },
      'config.json: mlp_bias: expected false (MLP biases are not implemented), got true',
    ],
    [{ ...qwen2, use_sliding_window: true }, 'config.json: use_sliding_window: expected false'],
    [
      { ...llama, hidden_act: 'gelu' },
      'config.json: hidden_act: expected "silu" (the only activation implemented), got "gelu"',
    ],
    [
      { ...llama, tie_word_embeddings: 'yes' },
      'config.json: tie_word_embeddings: expected true or false, got "yes"',
    ],
    [{ ...llama, attention_bias: 1 }, 'config.json: attention_bias: expected true or false, got 1'],
    [
      { ...llama, bos_token_id: -1 },
      'config.json: bos_token_id: expected a token id (integer ≥ 0) or null, got -1',
    ],
    [
      { ...llama, eos_token_id: 'eos' },
      'config.json: eos_token_id: expected a token id or a list of token ids, got "eos"',
    ],
    [
      { ...llama, eos_token_id: [2, -3] },
      'config.json: eos_token_id.1: expected a token id (integer ≥ 0) or null, got -3',
    ],
    [
      { ...llama, torch_dtype: 'float64' },
      'config.json: torch_dtype: expected "float32", "float16" or "bfloat16", got "float64"',
    ],
    [[1, 2], 'config.json: expected a JSON object, got [1,2]'],
  ])('rejects %j', (json, message) => {
    expect(rejection(json)).toContain(message);
  });
});

describe('modelConfigToHfJson', () => {
  it('round-trips Qwen2 and Llama configs and names the transformers architecture', () => {
    for (const [json, arch] of [
      [qwen2, 'Qwen2ForCausalLM'],
      [{ ...llama, attention_bias: true, eos_token_id: [2, 3] }, 'LlamaForCausalLM'],
    ] as const) {
      const c = parseModelConfig(json, 'config.json');
      const out = modelConfigToHfJson(c);
      expect(out.architectures).toEqual([arch]);
      expect(out.model_type).toBe(json.model_type);
      expect(parseModelConfig(JSON.parse(JSON.stringify(out)), 'out.json')).toEqual(c);
    }
  });

  it('refuses an interleaved-RoPE config, which transformers cannot express', () => {
    const c = { ...parseModelConfig(llama, 'config.json'), ropeStyle: 'interleaved' as const };
    expect(() => modelConfigToHfJson(c)).toThrow(/ropeStyle "interleaved"/);
  });
});
