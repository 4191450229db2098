// The config.json files of Gemma 3 270M (layer_types) and 1B (the older sliding_window_pattern), for the tests of
// the config reader and the fit check. Only their shape matters: no weights exist in the tests.

const SLIDING_FIVE_OF_SIX = Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 ? 'sliding_attention' : 'full_attention'));

export const GEMMA3_270M = {
  _sliding_window_pattern: 6, architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  attn_logit_softcapping: null, bos_token_id: 2, dtype: 'bfloat16', eos_token_id: 1, final_logit_softcapping: null, head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640, initializer_range: 0.02, intermediate_size: 2048,
  layer_types: SLIDING_FIVE_OF_SIX, max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4,
  num_hidden_layers: 18, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000.0, rope_scaling: null, rope_theta: 1000000.0, sliding_window: 512, use_bidirectional_attention: false,
  use_cache: true, vocab_size: 262144,
};

export const GEMMA3_1B = {
  architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6,
  torch_dtype: 'bfloat16', use_cache: true, vocab_size: 262144,
};
