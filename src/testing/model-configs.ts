// The config.json files of the real models the tests size, parse and mimic, as their hub repositories hold them:
// Llama-3.2-1B, Qwen3-0.6B, and Gemma 3 270M (layer_types) and 1B (the older sliding_window_pattern). Only their
// shape matters: no weights exist in the tests (a test that needs weights makes random ones at these widths, often
// with fewer layers).

/** meta-llama/Llama-3.2-1B's config.json: llama3 rope scaling, tied head, 8 kv heads of 64. */
export const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], head_dim: 64,
  hidden_act: 'silu', hidden_size: 2048, intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama',
  num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', vocab_size: 128256,
};

/** Qwen/Qwen3-0.6B's config.json: head_dim 128, so q is 2048 wide on a 1024 hidden. */
export const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072,
  max_position_embeddings: 40960, max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28,
  num_key_value_heads: 8, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000, sliding_window: null,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};

const SLIDING_FIVE_OF_SIX = Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 ? 'sliding_attention' : 'full_attention'));

/** Gemma 3 270M's config.json: the sliding pattern as layer_types. */
export const GEMMA3_270M = {
  _sliding_window_pattern: 6, architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  attn_logit_softcapping: null, bos_token_id: 2, dtype: 'bfloat16', eos_token_id: 1, final_logit_softcapping: null, head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640, initializer_range: 0.02, intermediate_size: 2048,
  layer_types: SLIDING_FIVE_OF_SIX, max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4,
  num_hidden_layers: 18, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000.0, rope_scaling: null, rope_theta: 1000000.0, sliding_window: 512, use_bidirectional_attention: false,
  use_cache: true, vocab_size: 262144,
};

/** Gemma 3 1B's config.json: the older sliding_window_pattern. */
export const GEMMA3_1B = {
  architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6,
  torch_dtype: 'bfloat16', use_cache: true, vocab_size: 262144,
};
