// config.json parsing: real Llama 3.2 and Qwen2.5 configs, HF defaults, and every refusal naming file and field.
import { describe, expect, it } from 'vitest';
import { configFromFiles, parseModelConfig } from './config';
import { GEMMA3_1B, GEMMA3_270M, LLAMA32_1B, QWEN3_06B } from '../testing/model-configs';
import { MissingFileError, ModelError } from './errors';
import { BytesSource, type ByteSource, type FileSet } from './source';


const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
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
  use_sliding_window: false,
  vocab_size: 151936,
};


/** Parses `json` expecting a ModelError whose message names the file, the field and the problem. */
function refuses(json: unknown, field: string | undefined, problem: RegExp): ModelError {
  let err: unknown;
  try {
    parseModelConfig(json, 'tiny/config.json');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelError);
  const e = err as ModelError;
  expect(e.file).toBe('tiny/config.json');
  expect(e.message).toContain('tiny/config.json');
  if (field) {
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
  }
  expect(e.message).toMatch(problem);
  return e;
}

function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

describe('parseModelConfig', () => {
  it('reads a Llama 3.2 config with llama3 rope scaling', () => {
    const c = parseModelConfig(LLAMA32_1B);
    expect(c).toEqual({
      architecture: 'llama',
      hiddenSize: 2048,
      intermediateSize: 8192,
      numLayers: 16,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 64,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      tieWordEmbeddings: true,
      vocabSize: 128256,
      maxPositionEmbeddings: 131072,
      bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009],
      attentionBias: false,
      oProjBias: false,
      qkNorm: false,
      torchDtype: 'bfloat16',
    });
  });

  it('reads a Qwen3-0.6B config: q/k norm, no biases, head_dim from the config (H*D != C)', () => {
    const c = parseModelConfig(QWEN3_06B);
    expect(c.architecture).toBe('qwen3');
    expect([c.qkNorm, c.attentionBias, c.oProjBias]).toEqual([true, false, false]);
    expect([c.hiddenSize, c.numHeads, c.headDim, c.numKvHeads]).toEqual([1024, 16, 128, 8]);
    expect(c.eosTokenIds).toEqual([151645]);
    expect(parseModelConfig({ ...QWEN3_06B, architectures: undefined }).architecture).toBe('qwen3');
    refuses({ ...QWEN3_06B, use_sliding_window: true }, 'use_sliding_window', /not supported/);
  });

  it('reads Gemma 3 270M (layer_types) and 1B (sliding_window_pattern) configs: the same sliding layers', () => {
    const small = parseModelConfig(GEMMA3_270M);
    expect(small.architecture).toBe('gemma3');
    expect([small.hiddenSize, small.numHeads, small.numKvHeads, small.headDim, small.tieWordEmbeddings, small.qkNorm]).toEqual([640, 4, 1, 256, true, true]);
    expect(small.gemma).toEqual({ queryPreAttnScalar: 256, slidingWindow: 512, ropeLocalTheta: 10000, sliding: GEMMA3_270M.layer_types.map((t) => t === 'sliding_attention') });
    expect(small.gemma!.sliding.filter((s) => !s).length).toBe(3); // layers 5, 11 and 17 are global
    const big = parseModelConfig(GEMMA3_1B);
    expect(big.gemma!.sliding).toEqual(Array.from({ length: 26 }, (_, i) => (i + 1) % 6 !== 0));
    expect([big.ropeTheta, big.eosTokenIds]).toEqual([1000000, [1, 106]]);
    refuses({ ...GEMMA3_270M, final_logit_softcapping: 30 }, 'final_logit_softcapping', /soft-capping is not supported/);
    refuses({ ...GEMMA3_270M, hidden_activation: 'gelu' }, 'hidden_activation', /only "gelu_pytorch_tanh"/);
    refuses({ ...GEMMA3_270M, layer_types: ['sliding_attention'] }, 'layer_types', /one type per layer \(18\)/);
    refuses({ ...GEMMA3_1B, rope_scaling: { rope_type: 'linear', factor: 8 } }, 'rope_scaling', /"linear" is not supported/);
  });

  it('reads a Qwen2.5 config: q/k/v biases, a single eos id, head dim from hidden/heads', () => {
    const c = parseModelConfig(qwen25);
    expect(c.architecture).toBe('qwen2');
    expect(c.attentionBias).toBe(true);
    expect(c.oProjBias).toBe(false);
    expect(c.headDim).toBe(64);
    expect(c.numKvHeads).toBe(2);
    expect(c.eosTokenIds).toEqual([151643]);
    expect(c.ropeScaling).toBeNull();
  });

  it('applies HF defaults: kv heads = heads, rope theta 10000, untied, no bias, no ids', () => {
    const minimal = {
      model_type: 'llama',
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      rms_norm_eps: 1e-6,
      vocab_size: 256,
      max_position_embeddings: 128,
    };
    const c = parseModelConfig(minimal);
    expect(c.architecture).toBe('llama');
    expect(c.numKvHeads).toBe(4);
    expect(c.headDim).toBe(16);
    expect(c.ropeTheta).toBe(10000);
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.attentionBias).toBe(false);
    expect(c.bosTokenId).toBeNull();
    expect(c.eosTokenIds).toEqual([]);
    expect(c.torchDtype).toBeUndefined();
    expect(parseModelConfig({ ...minimal, num_key_value_heads: null, head_dim: null }).numKvHeads).toBe(4);
  });

  it("honours llama's attention_bias (q/k/v and o_proj) and the older rope_scaling `type` key", () => {
    const c = parseModelConfig({
      ...LLAMA32_1B,
      attention_bias: true,
      rope_scaling: { ...without(LLAMA32_1B.rope_scaling, 'rope_type'), type: 'llama3' },
    });
    expect(c.attentionBias).toBe(true);
    expect(c.oProjBias).toBe(true);
    expect(c.ropeScaling?.type).toBe('llama3');
    expect(parseModelConfig({ ...LLAMA32_1B, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
  });

  it('accepts a head_dim that does not make H*D equal C, and newer `dtype`', () => {
    const c = parseModelConfig({ ...qwen25, num_attention_heads: 6, head_dim: 100, torch_dtype: undefined, dtype: 'float16' });
    expect(c.headDim).toBe(100);
    expect(c.torchDtype).toBe('float16');
  });

  it('refuses what is not an object', () => {
    refuses([1, 2], undefined, /JSON object/);
    refuses('llama', undefined, /JSON object/);
    refuses(null, undefined, /JSON object/);
  });

  it('refuses unknown architectures and says which are supported', () => {
    refuses({ ...LLAMA32_1B, architectures: ['MistralForCausalLM'] }, 'architectures', /MistralForCausalLM.*supported: LlamaForCausalLM, Qwen2ForCausalLM/);
    refuses({ ...without(LLAMA32_1B, 'architectures'), model_type: 'gemma' }, 'model_type', /gemma.*supported/);
    refuses(without(without(LLAMA32_1B, 'architectures'), 'model_type'), 'architectures', /missing.*supported/);
    refuses({ ...LLAMA32_1B, architectures: [] }, 'architectures', /non-empty list/);
  });

  it('falls back to model_type when architectures is absent', () => {
    expect(parseModelConfig({ ...without(qwen25, 'architectures') }).architecture).toBe('qwen2');
  });

  it.each(['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'rms_norm_eps', 'vocab_size', 'max_position_embeddings'])(
    'refuses a config without %s',
    (field) => {
      refuses(without(LLAMA32_1B, field), field, /required but missing/);
    },
  );

  it.each([
    ['hidden_size', 0],
    ['intermediate_size', -4],
    ['num_hidden_layers', 1.5],
    ['vocab_size', 0],
    ['head_dim', 3.5],
    ['num_key_value_heads', 0],
  ])('refuses %s = %s (sizes are positive integers)', (field, value) => {
    refuses({ ...LLAMA32_1B, [field]: value }, field, /positive integer/);
  });

  it('refuses sizes of the wrong type', () => {
    refuses({ ...LLAMA32_1B, hidden_size: '2048' }, 'hidden_size', /must be a number/);
    refuses({ ...LLAMA32_1B, tie_word_embeddings: 'yes' }, 'tie_word_embeddings', /true or false/);
    refuses({ ...LLAMA32_1B, torch_dtype: 16 }, 'torch_dtype', /must be a string/);
  });

  it('refuses heads that do not divide hidden when head_dim is absent', () => {
    refuses({ ...qwen25, num_attention_heads: 5, num_key_value_heads: 5 }, 'num_attention_heads', /5 does not divide hidden_size \(896\)/);
  });

  it('refuses kv heads that do not divide heads', () => {
    refuses({ ...LLAMA32_1B, num_key_value_heads: 5 }, 'num_key_value_heads', /5 does not divide num_attention_heads \(32\)/);
  });

  it('refuses eps <= 0 and rope_theta <= 0', () => {
    refuses({ ...LLAMA32_1B, rms_norm_eps: 0 }, 'rms_norm_eps', /greater than 0/);
    refuses({ ...LLAMA32_1B, rms_norm_eps: -1e-5 }, 'rms_norm_eps', /greater than 0/);
    refuses({ ...LLAMA32_1B, rope_theta: 0 }, 'rope_theta', /greater than 0/);
  });

  it('refuses rope scaling other than llama3, naming the type', () => {
    refuses({ ...LLAMA32_1B, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling', /"yarn" is not supported/);
    refuses({ ...LLAMA32_1B, rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling', /"linear" is not supported/);
    refuses({ ...LLAMA32_1B, rope_scaling: 'llama3' }, 'rope_scaling', /object or null/);
  });

  it('refuses incomplete or inconsistent llama3 scaling', () => {
    refuses({ ...LLAMA32_1B, rope_scaling: without(LLAMA32_1B.rope_scaling, 'factor') }, 'factor', /required but missing/);
    refuses(
      { ...LLAMA32_1B, rope_scaling: { ...LLAMA32_1B.rope_scaling, low_freq_factor: 4 } },
      'rope_scaling',
      /high_freq_factor \(4\) must exceed low_freq_factor \(4\)/,
    );
  });

  it('refuses bad token ids', () => {
    refuses({ ...LLAMA32_1B, eos_token_id: [1, -2] }, 'eos_token_id', /non-negative integer/);
    refuses({ ...LLAMA32_1B, bos_token_id: 'a' }, 'bos_token_id', /non-negative integer/);
  });

  it('refuses network options the engine does not implement', () => {
    refuses({ ...LLAMA32_1B, hidden_act: 'gelu' }, 'hidden_act', /"gelu" is not supported/);
    refuses({ ...LLAMA32_1B, mlp_bias: true }, 'mlp_bias', /not supported/);
    refuses({ ...qwen25, use_sliding_window: true }, 'use_sliding_window', /not supported/);
  });
});

describe('configFromFiles', () => {
  const filesOf = (map: Record<string, string>): FileSet => ({
    name: 'models/tiny',
    async open(file: string): Promise<ByteSource | null> {
      return file in map ? new BytesSource(`models/tiny/${file}`, new TextEncoder().encode(map[file])) : null;
    },
  });

  it('reads config.json from a FileSet', async () => {
    const c = await configFromFiles(filesOf({ 'config.json': JSON.stringify(qwen25) }));
    expect(c.vocabSize).toBe(151936);
  });

  it('names the file when config.json is not JSON', async () => {
    const p = configFromFiles(filesOf({ 'config.json': '{"hidden_size": 64,' }));
    await expect(p).rejects.toBeInstanceOf(ModelError);
    await expect(p).rejects.toThrow(/models\/tiny\/config\.json: not valid JSON/);
  });

  it('names the file in field errors', async () => {
    await expect(configFromFiles(filesOf({ 'config.json': JSON.stringify({ ...qwen25, vocab_size: 0 }) }))).rejects.toThrow(
      /models\/tiny\/config\.json: vocab_size: must be a positive integer/,
    );
  });

  it('says config.json is missing', async () => {
    const p = configFromFiles(filesOf({}));
    await expect(p).rejects.toBeInstanceOf(MissingFileError);
    await expect(p).rejects.toThrow(/models\/tiny\/config\.json/);
  });
});
