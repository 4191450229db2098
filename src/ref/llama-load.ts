// Reads a model's weights into the float64 reference's layout, optionally rounded through f16 exactly as the GPU
// stores them, so a GPU-vs-reference comparison measures arithmetic, not storage precision.
import type { ModelConfig } from '../model/config';
import { fromFloat32, toFloat32 } from '../model/dtype';
import type { WeightIndex } from '../model/weights';
import { mapLayers } from '../model/weights-layout';
import type { RefLayer, RefModel } from './llama';

export async function loadRefModel(weights: WeightIndex, cfg: ModelConfig, f16: boolean): Promise<RefModel> {
  const get = async (name: string) => {
    const data = (await weights.readF32(name)).data;
    return Float64Array.from(f16 ? toFloat32(fromFloat32(data, 'F16'), 'F16') : data);
  };
  const embed = await get('model.embed_tokens.weight');
  const layers = (await mapLayers(cfg, (n) => weights.tensors.has(n), get)) as RefLayer[];
  const norm = await get('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight');
  return { cfg, embed, lmHead, norm, layers };
}
