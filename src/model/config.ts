// Reads a Hugging Face config.json (LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM) into the one typed ModelConfig the engine
// uses, refusing what the engine cannot run (unknown architectures, unsupported rope scaling) with the field named.
import { ModelError } from './errors';
import { openRequired, readJson, type FileSet } from './source';

export type Architecture = 'llama' | 'qwen2' | 'qwen3' | 'gemma3';

/**
 * What Gemma 3 (text) adds to the Llama block: embeddings times √C, RMSNorm weights applied as 1 + w, norms after
 * attention and after the MLP as well as before, GeGLU (tanh GELU), scores scaled by queryPreAttnScalar^−½, and
 * sliding-window attention with its own RoPE base on the layers `sliding` marks.
 */
export interface GemmaOptions {
  queryPreAttnScalar: number;
  /** Keys a query sees on a sliding layer, itself included: key j is visible from query i when i − j < window. */
  slidingWindow: number;
  /** Per layer, true where it attends within the window (and rotates with ropeLocalTheta). */
  sliding: boolean[];
  ropeLocalTheta: number;
}

/** Llama 3's frequency-dependent rope rescaling (the only scaling the engine implements). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** Dimension letters: C hidden, F feed-forward, H heads, KV kv-heads, D head dim, V vocab. */
export interface ModelConfig {
  architecture: Architecture;
  /** C */
  hiddenSize: number;
  /** F */
  intermediateSize: number;
  numLayers: number;
  /** H */
  numHeads: number;
  /** KV; divides H (grouped-query attention shares one kv head among H/KV query heads). */
  numKvHeads: number;
  /** D; H*D need not equal C when config.json gives head_dim. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /** lm_head reuses the embedding [V,C]. */
  tieWordEmbeddings: boolean;
  /** V */
  vocabSize: number;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** q/k/v projections carry biases (always for qwen2; llama's attention_bias). */
  attentionBias: boolean;
  /** o_proj carries a bias [C]: llama's attention_bias also adds it, qwen2 never has one. */
  oProjBias: boolean;
  /** q and k are RMS-normed per head over D (q_norm, k_norm [D]) before RoPE: Qwen3. */
  qkNorm: boolean;
  /** Gemma 3 only. */
  gemma?: GemmaOptions;
  torchDtype?: string;
}

const ARCHITECTURES: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  Gemma3ForCausalLM: 'gemma3',
};
const MODEL_TYPES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma3_text: 'gemma3' };
const SUPPORTED = `supported: ${Object.keys(ARCHITECTURES).join(', ')} (model_type ${Object.keys(MODEL_TYPES).join(', ')})`;

/** Field readers that name the file and the field in every complaint. */
class Fields {
  constructor(
    readonly file: string,
    readonly obj: Record<string, unknown>,
  ) {}
  fail(field: string, problem: string): never {
    throw new ModelError(this.file, problem, field);
  }
  has(field: string): boolean {
    return this.obj[field] !== undefined && this.obj[field] !== null;
  }
  number(field: string, fallback?: number): number {
    const v = this.obj[field];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(field, 'is required but missing');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }
  positive(field: string, fallback?: number): number {
    const v = this.number(field, fallback);
    if (!(v > 0)) this.fail(field, `must be greater than 0, got ${v}`);
    return v;
  }
  size(field: string, fallback?: number): number {
    const v = this.number(field, fallback);
    if (!Number.isInteger(v) || v <= 0) this.fail(field, `must be a positive integer, got ${v}`);
    return v;
  }
  tokenId(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      this.fail(field, `must be a non-negative integer token id, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  bool(field: string, fallback: boolean): boolean {
    const v = this.obj[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function architectureOf(f: Fields): Architecture {
  const archs = f.obj.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string') {
      f.fail('architectures', `must be a non-empty list of class names, got ${JSON.stringify(archs)}`);
    }
    const a = ARCHITECTURES[archs[0]];
    if (!a) f.fail('architectures', `unknown architecture ${JSON.stringify(archs[0])}; ${SUPPORTED}`);
    return a;
  }
  const mt = f.obj.model_type;
  if (mt === undefined || mt === null) f.fail('architectures', `is missing and so is model_type; ${SUPPORTED}`);
  const a = typeof mt === 'string' ? MODEL_TYPES[mt] : undefined;
  if (!a) f.fail('model_type', `unknown model type ${JSON.stringify(mt)}; ${SUPPORTED}`);
  return a;
}

function ropeScalingOf(f: Fields): Llama3RopeScaling | null {
  const rs = f.obj.rope_scaling;
  if (rs === undefined || rs === null) return null;
  if (!isObject(rs)) f.fail('rope_scaling', `must be an object or null, got ${JSON.stringify(rs)}`);
  const type = rs.rope_type ?? rs.type;
  if (type === 'default') return null; // HF writes this for plain rope
  if (type !== 'llama3') {
    f.fail('rope_scaling', `rope scaling type ${JSON.stringify(type)} is not supported (only "llama3" is)`);
  }
  const s = new Fields(f.file, rs);
  const scaling: Llama3RopeScaling = {
    type: 'llama3',
    factor: s.positive('factor'),
    lowFreqFactor: s.positive('low_freq_factor'),
    highFreqFactor: s.positive('high_freq_factor'),
    originalMaxPositionEmbeddings: s.size('original_max_position_embeddings'),
  };
  // HF smooths between the two by dividing by their difference.
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    f.fail('rope_scaling', `high_freq_factor (${scaling.highFreqFactor}) must exceed low_freq_factor (${scaling.lowFreqFactor})`);
  }
  return scaling;
}

function eosOf(f: Fields): number[] {
  const v = f.obj.eos_token_id;
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => f.tokenId('eos_token_id', x));
  return [f.tokenId('eos_token_id', v)];
}

/**
 * Gemma 3's sliding layers: `layer_types` when given, else (older configs) every layer but each
 * sliding_window_pattern-th, as transformers derives it.
 */
function gemmaOf(f: Fields, numLayers: number): GemmaOptions {
  let sliding: boolean[];
  const types = f.obj.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== numLayers) {
      f.fail('layer_types', `must list one type per layer (${numLayers}), got ${JSON.stringify(types)}`);
    }
    sliding = types.map((t) => {
      if (t !== 'sliding_attention' && t !== 'full_attention') f.fail('layer_types', `unknown layer type ${JSON.stringify(t)}`);
      return t === 'sliding_attention';
    });
  } else {
    const pattern = f.size('sliding_window_pattern', 6);
    sliding = Array.from({ length: numLayers }, (_, i) => (i + 1) % pattern !== 0);
  }
  return {
    queryPreAttnScalar: f.positive('query_pre_attn_scalar', 256),
    slidingWindow: f.size('sliding_window', 4096),
    sliding,
    ropeLocalTheta: f.positive('rope_local_base_freq', 10000),
  };
}

/** Refuses options that would change the network in ways the engine does not implement. */
function refuseUnsupported(f: Fields, architecture: Architecture): void {
  if (architecture === 'gemma3') {
    // Gemma names its activation hidden_activation (hidden_act is a leftover some configs still carry).
    const field = f.has('hidden_activation') ? 'hidden_activation' : 'hidden_act';
    const act = f.obj[field] ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh') f.fail(field, `activation ${JSON.stringify(act)} is not supported for Gemma 3 (only "gelu_pytorch_tanh" is)`);
    for (const cap of ['final_logit_softcapping', 'attn_logit_softcapping']) {
      if (f.has(cap)) f.fail(cap, 'logit soft-capping is not supported (Gemma 3 has none); set it to null');
    }
    if (f.bool('use_bidirectional_attention', false)) f.fail('use_bidirectional_attention', 'bidirectional attention is not supported');
  } else {
    const act = f.obj.hidden_act;
    if (act !== undefined && act !== null && act !== 'silu') {
      f.fail('hidden_act', `activation ${JSON.stringify(act)} is not supported (only "silu" is)`);
    }
  }
  if (f.bool('mlp_bias', false)) f.fail('mlp_bias', 'MLP biases are not supported');
  if ((architecture === 'qwen2' || architecture === 'qwen3') && f.bool('use_sliding_window', false)) {
    f.fail('use_sliding_window', 'sliding-window attention is not supported; set it to false');
  }
}

export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(json)) throw new ModelError(file, `must be a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f: Fields = new Fields(file, json);
  const architecture = architectureOf(f);
  refuseUnsupported(f, architecture);

  const hiddenSize = f.size('hidden_size');
  const numHeads = f.size('num_attention_heads');
  const numKvHeads = f.size('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    f.fail('num_key_value_heads', `${numKvHeads} does not divide num_attention_heads (${numHeads})`);
  }
  let headDim: number;
  if (f.has('head_dim')) headDim = f.size('head_dim');
  else {
    if (hiddenSize % numHeads !== 0) {
      f.fail('num_attention_heads', `${numHeads} does not divide hidden_size (${hiddenSize}) and head_dim is not given`);
    }
    headDim = hiddenSize / numHeads;
  }
  // Llama and Qwen3 read attention_bias (q, k, v and o alike); Qwen2 always has q/k/v biases and no o bias.
  const llamaBias = architecture !== 'qwen2' && f.bool('attention_bias', false);
  const gemma = architecture === 'gemma3';
  const bos = f.obj.bos_token_id;
  const dtype = f.obj.torch_dtype ?? f.obj.dtype; // newer transformers write `dtype`

  const cfg: ModelConfig = {
    architecture,
    hiddenSize,
    intermediateSize: f.size('intermediate_size'),
    numLayers: f.size('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: f.positive('rms_norm_eps', gemma ? 1e-6 : undefined),
    ropeTheta: f.positive('rope_theta', gemma ? 1000000 : 10000),
    ropeScaling: ropeScalingOf(f),
    tieWordEmbeddings: f.bool('tie_word_embeddings', gemma),
    vocabSize: f.size('vocab_size'),
    maxPositionEmbeddings: f.size('max_position_embeddings'),
    bosTokenId: bos === undefined || bos === null ? null : f.tokenId('bos_token_id', bos),
    eosTokenIds: eosOf(f),
    attentionBias: architecture === 'qwen2' || llamaBias,
    oProjBias: llamaBias,
    qkNorm: architecture === 'qwen3' || gemma,
  };
  if (gemma) cfg.gemma = gemmaOf(f, cfg.numLayers);
  if (dtype !== undefined && dtype !== null) {
    if (typeof dtype !== 'string') f.fail('torch_dtype', `must be a string, got ${JSON.stringify(dtype)}`);
    cfg.torchDtype = dtype;
  }
  return cfg;
}

/** Reads and parses config.json from a model's files. */
export async function configFromFiles(files: FileSet): Promise<ModelConfig> {
  const src = await openRequired(files, 'config.json');
  return parseModelConfig(await readJson(src), src.name);
}
