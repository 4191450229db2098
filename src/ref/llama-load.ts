// Reads a model's weights into the float64 reference's layout, optionally rounded through f16 exactly as the GPU
// stores them, so a GPU-vs-reference comparison measures arithmetic, not storage precision.
import type { ModelConfig } from '../model/config';
import { fromFloat32, toFloat32 } from '../model/dtype';
import type { WeightIndex } from '../model/weights';
import type { RefLayer, RefModel } from './llama';

export async function loadRefModel(weights: WeightIndex, cfg: ModelConfig, f16: boolean): Promise<RefModel> {
  const get = async (name: string) => {
    const data = (await weights.readF32(name)).data;
    return Float64Array.from(f16 ? toFloat32(fromFloat32(data, 'F16'), 'F16') : data);
  };
  const maybe = async (name: string) => (weights.tensors.has(name) ? get(name) : null);
  const embed = await get('model.embed_tokens.weight');
  const layers: RefLayer[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    layers.push({
      inNorm: await get(`${p}input_layernorm.weight`),
      postNorm: await get(`${p}post_attention_layernorm.weight`),
      q: await get(`${p}self_attn.q_proj.weight`),
      k: await get(`${p}self_attn.k_proj.weight`),
      v: await get(`${p}self_attn.v_proj.weight`),
      o: await get(`${p}self_attn.o_proj.weight`),
      qBias: await maybe(`${p}self_attn.q_proj.bias`),
      kBias: await maybe(`${p}self_attn.k_proj.bias`),
      vBias: await maybe(`${p}self_attn.v_proj.bias`),
      oBias: await maybe(`${p}self_attn.o_proj.bias`),
      gate: await get(`${p}mlp.gate_proj.weight`),
      up: await get(`${p}mlp.up_proj.weight`),
      down: await get(`${p}mlp.down_proj.weight`),
    });
  }
  const norm = await get('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight');
  return { cfg, embed, lmHead, norm, layers };
}
