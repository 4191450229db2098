// Tiny random Llama/Qwen2/Qwen3/Gemma 3 models in the exact Hugging Face file layout, made in memory (browser or Node), so the
// loaders, kernels and training loop are tested on real-shaped files without downloading weights.
import { fromFloat32, type DType } from '../dtype';
import { writeSafetensors, type TensorToWrite } from '../safetensors-write';
import { buildBpeTokenizer, bytesToUnicode, SPECIAL_TOKENS } from './bpe';
import { Rng } from '../../util/rng';
import { CHATML_TEMPLATE } from './template';

export type TinyArch = 'llama' | 'qwen2' | 'qwen3' | 'gemma3';
export type TinyDType = 'f32' | 'f16' | 'bf16';

/** HF's llama3 rope scaling block, as it appears in config.json. */
export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

export interface TinyModelOptions {
  arch?: TinyArch;
  seed?: number;
  dtype?: TinyDType;
  hiddenSize?: number;
  intermediateSize?: number;
  numLayers?: number;
  numHeads?: number;
  numKvHeads?: number;
  /** Defaults to hiddenSize / numHeads; for qwen3 twice that, so q's width differs from hidden as in Qwen3-0.6B. */
  headDim?: number;
  /** Defaults to true for llama (as SmolLM2), qwen3 (as Qwen3-0.6B) and gemma3, false for qwen2. */
  tieWordEmbeddings?: boolean;
  /** 'llama3' gives factor 8, low 1, high 4, original 64 (small, so short test sequences cross it). */
  ropeScaling?: null | 'llama3' | Llama3RopeScaling;
  maxPositionEmbeddings?: number;
  /** BPE merges in the tokenizer; the vocabulary is 3 specials + 256 bytes + these. */
  numMerges?: number;
  /** Text the merges are learned from [our own English and code]; the testbed model passes its own. */
  corpus?: string;
  /**
   * Multiplies the query and key projections (and their biases) [1]. Near 0, attention is close to uniform, so a
   * long prompt P acts on later tokens as a shift of the averaged context: an effect an adapter can learn from a
   * few dozen inputs. At 1, P's effect is a random function of the input that no method generalizes from so few.
   */
  qkScale?: number;
  /** Std of the untied LM head [0.5]: logits of std ~8x this; larger makes greedy answers near-certain, as a trained model's often are. */
  headStd?: number;
}

/** The options with every default filled in. */
export type ResolvedTinyOptions = Required<Omit<TinyModelOptions, 'ropeScaling' | 'corpus'>> & {
  corpus: string | undefined;
  ropeScaling: Llama3RopeScaling | null;
};

export function resolveTinyOptions(opts: TinyModelOptions = {}): ResolvedTinyOptions {
  const arch = opts.arch ?? 'llama';
  const hiddenSize = opts.hiddenSize ?? 64;
  const numHeads = opts.numHeads ?? 4;
  const headDim = opts.headDim ?? (hiddenSize / numHeads) * (arch === 'qwen3' ? 2 : 1);
  const numKvHeads = opts.numKvHeads ?? 2;
  if (!Number.isInteger(headDim)) throw new Error(`tiny model: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new Error(`tiny model: numHeads ${numHeads} is not a multiple of numKvHeads ${numKvHeads}`);
  const rs = opts.ropeScaling ?? null;
  return {
    arch,
    seed: opts.seed ?? 0,
    dtype: opts.dtype ?? 'f32',
    hiddenSize,
    intermediateSize: opts.intermediateSize ?? 96,
    numLayers: opts.numLayers ?? 2,
    numHeads,
    numKvHeads,
    headDim,
    tieWordEmbeddings: opts.tieWordEmbeddings ?? arch !== 'qwen2',
    ropeScaling:
      rs === 'llama3'
        ? { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 }
        : rs,
    maxPositionEmbeddings: opts.maxPositionEmbeddings ?? 2048,
    numMerges: opts.numMerges ?? 128,
    corpus: opts.corpus,
    qkScale: opts.qkScale ?? 1,
    headStd: opts.headStd ?? 0.5,
  };
}

const SAFETENSORS_DTYPE: Record<TinyDType, DType> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const TORCH_DTYPE: Record<TinyDType, string> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

/**
 * Gemma 3's fields, small enough that short test sequences cross the window: every second layer slides over 4 keys
 * with its own RoPE base, and the score scale (query_pre_attn_scalar 2·D) differs from 1/√D so it is read.
 */
const GEMMA_TINY = (o: ResolvedTinyOptions) => ({
  hidden_activation: 'gelu_pytorch_tanh',
  query_pre_attn_scalar: 2 * o.headDim,
  sliding_window: 4,
  layer_types: Array.from({ length: o.numLayers }, (_, i) => ((i + 1) % 2 ? 'sliding_attention' : 'full_attention')),
  rope_local_base_freq: 10000,
  final_logit_softcapping: null,
  attn_logit_softcapping: null,
});

/** How each kind of tensor is drawn: scaled so activations keep unit size and the logits are far from uniform. */
type Init = { kind: 'embed' } | { kind: 'linear'; fanIn: number } | { kind: 'norm' } | { kind: 'bias' } | { kind: 'head' };

function draw(rng: Rng, n: number, init: Init, headStd: number): Float32Array {
  switch (init.kind) {
    case 'embed':
      return rng.normals(n, 1);
    case 'linear':
      return rng.normals(n, 1 / Math.sqrt(init.fanIn));
    case 'norm':
      return rng.normals(n, 0.1, 1);
    case 'bias':
      return rng.normals(n, 0.1);
    case 'head':
      // Logits with a std of about 4, as confident as a trained model's, not the near-uniform 1 of 1/sqrt(C).
      return rng.normals(n, headStd);
  }
}

/** name -> [shape, init] in HF's order; the shapes follow transformers' nn.Linear layout [out, in]. */
export function tinyTensorSpecs(o: ResolvedTinyOptions, vocabSize: number): [string, number[], Init][] {
  const C = o.hiddenSize;
  const F = o.intermediateSize;
  const HD = o.numHeads * o.headDim;
  const KVD = o.numKvHeads * o.headDim;
  const specs: [string, number[], Init][] = [['model.embed_tokens.weight', [vocabSize, C], { kind: 'embed' }]];
  for (let i = 0; i < o.numLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push([`${p}input_layernorm.weight`, [C], { kind: 'norm' }]);
    specs.push([`${p}self_attn.q_proj.weight`, [HD, C], { kind: 'linear', fanIn: C }]);
    specs.push([`${p}self_attn.k_proj.weight`, [KVD, C], { kind: 'linear', fanIn: C }]);
    specs.push([`${p}self_attn.v_proj.weight`, [KVD, C], { kind: 'linear', fanIn: C }]);
    if (o.arch === 'qwen2') {
      specs.push([`${p}self_attn.q_proj.bias`, [HD], { kind: 'bias' }]);
      specs.push([`${p}self_attn.k_proj.bias`, [KVD], { kind: 'bias' }]);
      specs.push([`${p}self_attn.v_proj.bias`, [KVD], { kind: 'bias' }]);
    }
    if (o.arch === 'qwen3' || o.arch === 'gemma3') {
      specs.push([`${p}self_attn.q_norm.weight`, [o.headDim], { kind: 'norm' }]);
      specs.push([`${p}self_attn.k_norm.weight`, [o.headDim], { kind: 'norm' }]);
    }
    specs.push([`${p}self_attn.o_proj.weight`, [C, HD], { kind: 'linear', fanIn: HD }]);
    specs.push([`${p}post_attention_layernorm.weight`, [C], { kind: 'norm' }]);
    if (o.arch === 'gemma3') {
      specs.push([`${p}pre_feedforward_layernorm.weight`, [C], { kind: 'norm' }]);
      specs.push([`${p}post_feedforward_layernorm.weight`, [C], { kind: 'norm' }]);
    }
    specs.push([`${p}mlp.gate_proj.weight`, [F, C], { kind: 'linear', fanIn: C }]);
    specs.push([`${p}mlp.up_proj.weight`, [F, C], { kind: 'linear', fanIn: C }]);
    specs.push([`${p}mlp.down_proj.weight`, [C, F], { kind: 'linear', fanIn: F }]);
  }
  specs.push(['model.norm.weight', [C], { kind: 'norm' }]);
  if (!o.tieWordEmbeddings) specs.push(['lm_head.weight', [vocabSize, C], { kind: 'head' }]);
  return specs;
}

/**
 * Tokens a random model should rarely write: bytes that are not printable text alone (>= 0x80, controls other
 * than tab and newline), merged runs of whitespace ("\n\t", "  "), which the byte-level pre-tokenizer only keeps
 * whole before more whitespace, so text that has them elsewhere re-encodes to other tokens than were generated,
 * and `extra`.
 */
function quietTokenIds(vocab: Record<string, number>, extra: number[]): number[] {
  const chars = bytesToUnicode();
  const ids = [...extra];
  for (let b = 0; b < 256; b++) {
    const text = b >= 0x20 && b < 0x7f;
    if (!text && b !== 0x0a && b !== 0x09) ids.push(vocab[chars[b]]);
  }
  const space = new Set([0x20, 0x0a, 0x09, 0x0d].map((b) => chars[b]));
  for (const [token, id] of Object.entries(vocab)) if (token.length > 1 && [...token].every((c) => space.has(c))) ids.push(id);
  return ids;
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
}

/**
 * The files of one tiny model, by file name: config.json, generation_config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json, special_tokens_map.json. Pure and deterministic in the options.
 */
export function makeTinyModel(opts: TinyModelOptions = {}): Map<string, Uint8Array> {
  const o = resolveTinyOptions(opts);
  const tokenizer = buildBpeTokenizer(o.numMerges, o.corpus);
  const vocabSize = Math.max(...Object.values(tokenizer.model.vocab)) + 1;
  const [endoftext, imStart, imEnd] = SPECIAL_TOKENS.map((t) => tokenizer.model.vocab[t]);
  const llama = o.arch === 'llama';
  const qwen3 = o.arch === 'qwen3';
  const gemma = o.arch === 'gemma3';
  // SmolLM2-Instruct uses <|im_start|> as bos; Qwen2 and Qwen3 use <|endoftext|> and also stop on it.
  const bosId = llama ? imStart : endoftext;

  const config: Record<string, unknown> = {
    architectures: [{ llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', gemma3: 'Gemma3ForCausalLM' }[o.arch]],
    model_type: gemma ? 'gemma3_text' : o.arch,
    hidden_size: o.hiddenSize,
    intermediate_size: o.intermediateSize,
    num_hidden_layers: o.numLayers,
    num_attention_heads: o.numHeads,
    num_key_value_heads: o.numKvHeads,
    // HF's Qwen2 configs carry no head_dim (readers derive it); recent Llama ones and Qwen3's do.
    ...(llama || qwen3 || gemma ? { head_dim: o.headDim } : {}),
    ...(gemma ? GEMMA_TINY(o) : { hidden_act: 'silu' }),
    rms_norm_eps: llama ? 1e-5 : 1e-6,
    rope_theta: llama ? 100000 : 1000000,
    rope_scaling: o.ropeScaling,
    // Qwen2 always has q/k/v biases and its config has no attention_bias key; Qwen3's says false.
    ...(llama ? { attention_bias: false, mlp_bias: false } : gemma ? {} : { use_sliding_window: false, sliding_window: null }),
    ...(qwen3 || gemma ? { attention_bias: false } : {}),
    attention_dropout: 0,
    initializer_range: 0.02,
    tie_word_embeddings: o.tieWordEmbeddings,
    vocab_size: vocabSize,
    max_position_embeddings: o.maxPositionEmbeddings,
    bos_token_id: bosId,
    eos_token_id: imEnd,
    pad_token_id: llama ? imEnd : endoftext,
    torch_dtype: TORCH_DTYPE[o.dtype],
    use_cache: true,
  };

  const root = new Rng(o.seed);
  const dtype = SAFETENSORS_DTYPE[o.dtype];
  const tensors: Record<string, TensorToWrite> = {};
  const quiet = quietTokenIds(tokenizer.model.vocab, [endoftext, imStart]);
  for (const [name, shape, init] of tinyTensorSpecs(o, vocabSize)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = draw(root.fork(name), n, init, o.headStd);
    // Gemma applies its norms as 1 + w: stored near 0, they act near 1 as the other families' do.
    if (gemma && name.endsWith('norm.weight')) values.forEach((x, i, a) => (a[i] = x - 1));
    if (o.qkScale !== 1 && /\.(q|k)_proj\./.test(name)) values.forEach((x, i, a) => (a[i] = x * o.qkScale));
    if (o.qkScale !== 1 && /\.(q|k)_norm\./.test(name)) values.forEach((x, i, a) => (a[i] = gemma ? (1 + x) * o.qkScale - 1 : x * o.qkScale));
    // An untied head can make the model write text that survives decoding and re-encoding: the rows of the quiet
    // tokens shrink, so they are rarely chosen.
    if (name === 'lm_head.weight') for (const id of quiet) values.subarray(id * shape[1], (id + 1) * shape[1]).forEach((x, i, row) => (row[i] = x * 0.05));
    tensors[name] = { dtype, shape, data: fromFloat32(values, dtype) };
  }

  const added = (content: string) => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
    special: true,
  });
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(SPECIAL_TOKENS.map((t) => [String(tokenizer.model.vocab[t]), added(t)])),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: llama ? '<|im_start|>' : null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    model_max_length: o.maxPositionEmbeddings,
    pad_token: llama ? '<|im_end|>' : '<|endoftext|>',
    tokenizer_class: llama ? 'GPT2Tokenizer' : 'Qwen2Tokenizer', // Qwen3 ships Qwen2Tokenizer too
    unk_token: llama ? '<|endoftext|>' : null,
    vocab_file: null,
  };
  const specialTokensMap = {
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    ...(llama ? { bos_token: added('<|im_start|>') } : {}),
    eos_token: added('<|im_end|>'),
    pad_token: added(tokenizerConfig.pad_token),
    ...(llama ? { unk_token: added('<|endoftext|>') } : {}),
  };
  // Qwen2 lists two stop ids here, which is how real generation configs differ from config.json.
  const generationConfig = {
    bos_token_id: bosId,
    eos_token_id: llama ? imEnd : [imEnd, endoftext],
    pad_token_id: config.pad_token_id,
  };

  return new Map<string, Uint8Array>([
    ['config.json', json(config)],
    ['generation_config.json', json(generationConfig)],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
    ['tokenizer.json', json(tokenizer)],
    ['tokenizer_config.json', json(tokenizerConfig)],
    ['special_tokens_map.json', json(specialTokensMap)],
  ]);
}
