/**
 * Upper bounds on the sizes a config.json or a llama2.c header may declare, checked before
 * anything is allocated from them (a hostile `num_hidden_layers: 1e9` would otherwise allocate
 * until the machine kills the process). Each is far above any released model (mid-2025): the
 * largest dense Llama (3.1 405B) has 126 layers, hidden 16384, FFN 53248, 128 heads; vocabularies
 * reach 262,144 (Gemma 3); head_dim 256; contexts 10M positions (Llama 4 Scout). Real sizes
 * beyond these would need more memory than one GPU has anyway.
 */
export const SIZE_LIMITS = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 1024,
  vocab_size: 2 ** 22,
  max_position_embeddings: 2 ** 24,
} as const;

export type SizeField = keyof typeof SIZE_LIMITS;

/** "expected an integer in [1, 1024]" for `field`. */
export function sizeRangeText(field: SizeField): string {
  return `expected an integer in [1, ${SIZE_LIMITS[field]}]`;
}
