// What llama.cpp expects of each architecture the engine runs: the `<arch>.*` hyperparameter keys, the tensor
// names (token_embd, blk.N.attn_q, ...), and the changes its converter makes to Hugging Face's weights so that
// llama.cpp's graph computes what transformers does: for `llama`, the rows of q and k permuted from the rotate-half
// RoPE layout to the interleaved one llama.cpp rotates; for Gemma 3, norm weights stored as 1 + w; for Llama 3's
// rope scaling, the per-frequency factors as a rope_freqs tensor.
import type { LoraTarget } from '../llama/lora';
import type { ModelConfig } from '../model/config';
import { gguf, type GgufValue } from './gguf-container';

export class GgufExportError extends Error {
  override name = 'GgufExportError';
}

/** How one GGUF tensor comes from the Hugging Face weights. */
export interface ArchTensor {
  gguf: string;
  hf: string;
  /** Applied to the f32 values (row-major [rows, cols]) before encoding; the LoRA B of q and k gets the same. */
  rows?: 'permute-q' | 'permute-k';
  /** Gemma's RMSNorm multiplies by 1 + w; llama.cpp's by w. */
  plusOne?: boolean;
}

const LAYER_NAMES: [hf: string, gguf: string][] = [
  ['self_attn.q_proj', 'attn_q'],
  ['self_attn.k_proj', 'attn_k'],
  ['self_attn.v_proj', 'attn_v'],
  ['self_attn.o_proj', 'attn_output'],
  ['self_attn.q_norm', 'attn_q_norm'],
  ['self_attn.k_norm', 'attn_k_norm'],
  ['mlp.gate_proj', 'ffn_gate'],
  ['mlp.up_proj', 'ffn_up'],
  ['mlp.down_proj', 'ffn_down'],
  ['input_layernorm', 'attn_norm'],
];

/** The norms around the MLP: Gemma 3 has four per layer where the others have two. */
const NORMS: Record<'gemma' | 'other', [string, string][]> = {
  other: [['post_attention_layernorm', 'ffn_norm']],
  gemma: [
    ['post_attention_layernorm', 'post_attention_norm'],
    ['pre_feedforward_layernorm', 'ffn_norm'],
    ['post_feedforward_layernorm', 'post_ffw_norm'],
  ],
};

const TARGET_NAME: Record<LoraTarget, string> = { q: 'attn_q', k: 'attn_k', v: 'attn_v', o: 'attn_output', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down' };

/** The GGUF name of a LoRA target's base weight (blk.3.attn_q.weight). */
export const targetTensorName = (layer: number, target: LoraTarget) => `blk.${layer}.${TARGET_NAME[target]}.weight`;

/**
 * Every tensor llama.cpp loads for this model, with its Hugging Face source; `has` says which exist (biases and
 * an untied head are optional).
 */
export function archTensors(cfg: ModelConfig, has: (hf: string) => boolean): ArchTensor[] {
  const gemma = cfg.architecture === 'gemma3';
  const permute = cfg.architecture === 'llama';
  const out: ArchTensor[] = [{ gguf: 'token_embd.weight', hf: 'model.embed_tokens.weight' }];
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const [hf, g] of [...LAYER_NAMES, ...NORMS[gemma ? 'gemma' : 'other']]) {
      for (const kind of ['weight', 'bias']) {
        const name = `model.layers.${l}.${hf}.${kind}`;
        if (!has(name)) continue;
        const t: ArchTensor = { gguf: `blk.${l}.${g}.${kind}`, hf: name };
        if (permute && g === 'attn_q') t.rows = 'permute-q';
        if (permute && g === 'attn_k') t.rows = 'permute-k';
        if (gemma && g.endsWith('norm')) t.plusOne = true;
        out.push(t);
      }
    }
  }
  out.push({ gguf: 'output_norm.weight', hf: 'model.norm.weight', plusOne: gemma });
  if (!cfg.tieWordEmbeddings && has('lm_head.weight')) out.push({ gguf: 'output.weight', hf: 'lm_head.weight' });
  const missing = out.filter((t) => !has(t.hf)).map((t) => t.hf);
  if (missing.length) throw new GgufExportError(`gguf: the model has no ${missing.join(', ')}`);
  return out;
}

/**
 * llama.cpp's converter's permutation for `llama`: within each head, rows [first half; second half] (the pairs
 * rotate-half rotates together, i and i + D/2) become interleaved (2i, 2i + 1), the pairs llama.cpp rotates.
 * `x` is [heads·D, cols] row-major (a weight, a bias, or a LoRA B).
 */
export function permuteRows(x: Float32Array, heads: number, cols: number): Float32Array {
  const rows = x.length / cols;
  const D = rows / heads;
  const half = D / 2;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = h * D + j * half + i;
        const to = h * D + 2 * i + j;
        out.set(x.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** The f32 values llama.cpp should get for `t`, from the Hugging Face ones. */
export function toLlamaCpp(cfg: ModelConfig, t: Pick<ArchTensor, 'rows' | 'plusOne'>, x: Float32Array, cols: number): Float32Array {
  if (t.rows) return permuteRows(x, t.rows === 'permute-q' ? cfg.numHeads : cfg.numKvHeads, cols);
  if (t.plusOne) return x.map((v) => v + 1);
  return x;
}

/** Llama 3's per-frequency RoPE divisors [D/2], as llama.cpp's converter writes them to rope_freqs.weight. */
export function llama3RopeFactors(cfg: ModelConfig): Float32Array | null {
  const s = cfg.ropeScaling;
  if (!s) return null;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const D = cfg.headDim;
  return Float32Array.from({ length: D / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / cfg.ropeTheta ** (-(2 * i) / D);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/** The `<arch>.*` keys (llama.cpp names the architecture as transformers' model_type does, gemma3 for Gemma 3 text). */
export function archMetadata(cfg: ModelConfig): [string, GgufValue][] {
  const a = cfg.architecture;
  const kv: [string, GgufValue][] = [
    [`${a}.context_length`, gguf.u32(cfg.maxPositionEmbeddings)],
    [`${a}.embedding_length`, gguf.u32(cfg.hiddenSize)],
    [`${a}.block_count`, gguf.u32(cfg.numLayers)],
    [`${a}.feed_forward_length`, gguf.u32(cfg.intermediateSize)],
    [`${a}.attention.head_count`, gguf.u32(cfg.numHeads)],
    [`${a}.attention.head_count_kv`, gguf.u32(cfg.numKvHeads)],
    [`${a}.attention.key_length`, gguf.u32(cfg.headDim)],
    [`${a}.attention.value_length`, gguf.u32(cfg.headDim)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(cfg.rmsNormEps)],
    [`${a}.rope.dimension_count`, gguf.u32(cfg.headDim)],
    [`${a}.rope.freq_base`, gguf.f32(cfg.ropeTheta)],
    [`${a}.vocab_size`, gguf.u32(cfg.vocabSize)],
  ];
  const g = cfg.gemma;
  if (g) {
    // llama.cpp scales Gemma 3's scores by 1/√D (1/√(C/H) for the 27B); a model that says otherwise would run wrong.
    if (g.queryPreAttnScalar !== cfg.headDim) {
      throw new GgufExportError(`gguf: this Gemma 3 has query_pre_attn_scalar ${g.queryPreAttnScalar}, but llama.cpp scales its scores by the head size ${cfg.headDim}`);
    }
    kv.push([`${a}.attention.sliding_window`, gguf.u32(g.slidingWindow)]);
    kv.push([`${a}.attention.sliding_window_pattern`, { type: 'array', of: 'bool', values: g.sliding }]);
    kv.push([`${a}.rope.freq_base_swa`, gguf.f32(g.ropeLocalTheta)]);
  }
  if (cfg.oProjBias && a !== 'llama') throw new GgufExportError(`gguf: ${a} with an o_proj bias has no place in llama.cpp's ${a}`);
  return kv;
}
