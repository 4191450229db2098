// The tensors a config.json promises, by Hugging Face name and shape, and one check that the weight files keep
// that promise, so a mismatched folder fails at load with every wrong tensor named, not deep inside a kernel.
import type { ModelConfig } from './config';
import { ModelError } from './errors';

/** Anything with named tensor shapes (a WeightIndex qualifies). */
export interface TensorShapes {
  /** For messages: the model folder. */
  name: string;
  tensors: ReadonlyMap<string, { shape: readonly number[] }>;
}

/** How many names of each kind a message lists before saying "and N more". */
export const MAX_LISTED = 8;

const LM_HEAD = 'lm_head.weight';

/** One decoder layer's tensors: the engine's field name -> the Hugging Face name after `model.layers.{i}.`. */
export const LAYER_TENSORS = {
  inNorm: 'input_layernorm.weight',
  postNorm: 'post_attention_layernorm.weight',
  q: 'self_attn.q_proj.weight',
  k: 'self_attn.k_proj.weight',
  v: 'self_attn.v_proj.weight',
  o: 'self_attn.o_proj.weight',
  qBias: 'self_attn.q_proj.bias',
  kBias: 'self_attn.k_proj.bias',
  vBias: 'self_attn.v_proj.bias',
  oBias: 'self_attn.o_proj.bias',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  preFfNorm: 'pre_feedforward_layernorm.weight',
  postFfNorm: 'post_feedforward_layernorm.weight',
  gate: 'mlp.gate_proj.weight',
  up: 'mlp.up_proj.weight',
  down: 'mlp.down_proj.weight',
} as const;
export type LayerField = keyof typeof LAYER_TENSORS;

/** Biases exist only in some architectures (Qwen2's q/k/v, Llama's attention_bias). */
export const isBias = (f: LayerField) => f.endsWith('Bias');

/** Tensors only some architectures have: biases, per-head q/k norms (Qwen3, Gemma 3), Gemma's MLP norms. */
const isOptional = (f: LayerField) => isBias(f) || f === 'qNorm' || f === 'kNorm' || f === 'preFfNorm' || f === 'postFfNorm';

/** RMSNorm weights, which Gemma applies as 1 + w. */
export const isNorm = (f: LayerField) => f.endsWith('Norm');

/**
 * Reads every layer's tensors through `get`, in layer order; a bias or q/k norm the files do not have is null. Both the GPU
 * upload and the float64 reference load through this, so they cannot disagree on names.
 */
export async function mapLayers<T>(cfg: ModelConfig, has: (name: string) => boolean, get: (name: string, field: LayerField) => Promise<T>): Promise<Record<LayerField, T | null>[]> {
  const layers: Record<LayerField, T | null>[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const layer = {} as Record<LayerField, T | null>;
    for (const [field, suffix] of Object.entries(LAYER_TENSORS) as [LayerField, string][]) {
      const name = `model.layers.${i}.${suffix}`;
      layer[field] = isOptional(field) && !has(name) ? null : await get(name, field);
    }
    layers.push(layer);
  }
  return layers;
}

/** HF name -> shape, in the dimension letters of ModelConfig (C, F, H, KV, D, V). */
export function expectedTensors(cfg: ModelConfig): Map<string, number[]> {
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const HD = cfg.numHeads * cfg.headDim;
  const KVD = cfg.numKvHeads * cfg.headDim;
  const V = cfg.vocabSize;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [V, C]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [C]);
    m.set(`${p}.self_attn.q_proj.weight`, [HD, C]);
    m.set(`${p}.self_attn.k_proj.weight`, [KVD, C]);
    m.set(`${p}.self_attn.v_proj.weight`, [KVD, C]);
    m.set(`${p}.self_attn.o_proj.weight`, [C, HD]);
    if (cfg.attentionBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [HD]);
      m.set(`${p}.self_attn.k_proj.bias`, [KVD]);
      m.set(`${p}.self_attn.v_proj.bias`, [KVD]);
    }
    if (cfg.oProjBias) m.set(`${p}.self_attn.o_proj.bias`, [C]);
    if (cfg.qkNorm) {
      m.set(`${p}.self_attn.q_norm.weight`, [cfg.headDim]);
      m.set(`${p}.self_attn.k_norm.weight`, [cfg.headDim]);
    }
    m.set(`${p}.post_attention_layernorm.weight`, [C]);
    if (cfg.gemma) {
      m.set(`${p}.pre_feedforward_layernorm.weight`, [C]);
      m.set(`${p}.post_feedforward_layernorm.weight`, [C]);
    }
    m.set(`${p}.mlp.gate_proj.weight`, [F, C]);
    m.set(`${p}.mlp.up_proj.weight`, [F, C]);
    m.set(`${p}.mlp.down_proj.weight`, [C, F]);
  }
  m.set('model.norm.weight', [C]);
  if (!cfg.tieWordEmbeddings) m.set(LM_HEAD, [V, C]);
  return m;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function listed(label: string, items: string[]): string {
  if (items.length === 0) return '';
  const shown = items.slice(0, MAX_LISTED).join(', ');
  const more = items.length > MAX_LISTED ? ` and ${items.length - MAX_LISTED} more` : '';
  return `${label} (${items.length}): ${shown}${more}`;
}

/** Throws one ModelError listing missing, extra and misshaped tensors; returns quietly when all match. */
export function checkWeights(index: TensorShapes, cfg: ModelConfig): void {
  const expected = expectedTensors(cfg);
  // A tied model may still ship lm_head.weight (some exporters write it); it must then have the embedding's shape.
  if (cfg.tieWordEmbeddings && index.tensors.has(LM_HEAD)) expected.set(LM_HEAD, [cfg.vocabSize, cfg.hiddenSize]);
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of expected) {
    const found = index.tensors.get(name);
    if (!found) missing.push(name);
    else if (!sameShape(found.shape, shape)) misshaped.push(`${name} expected ${fmt(shape)} found ${fmt(found.shape)}`);
  }
  const extra = [...index.tensors.keys()].filter((name) => !expected.has(name));
  if (missing.length + extra.length + misshaped.length === 0) return;
  const parts = [listed('missing', missing), listed('extra', extra), listed('misshaped', misshaped)].filter(Boolean);
  const what = `${cfg.architecture}, ${cfg.numLayers} layers, C=${cfg.hiddenSize}, V=${cfg.vocabSize}`;
  throw new ModelError(
    index.name,
    `weights do not match config.json (${what}); ${parts.join('; ')}. Check that config.json and the weights come from the same model`,
  );
}
