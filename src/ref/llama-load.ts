// Reads a model's weights into the float64 reference's layout, optionally rounded through f16 exactly as the GPU
// stores them, so a GPU-vs-reference comparison measures arithmetic, not storage precision. Gemma's norms are stored
// on the GPU as 1 + w, so that sum is what gets rounded.
import type { ModelConfig } from '../model/config';
import { fromFloat32, toFloat32 } from '../model/dtype';
import type { WeightIndex } from '../model/weights';
import { isNorm, mapLayers, type LayerField } from '../model/weights-layout';
import type { RefLayer, RefModel } from './llama';

export async function loadRefModel(weights: WeightIndex, cfg: ModelConfig, f16: boolean): Promise<RefModel> {
  const round = (x: ArrayLike<number>) => toFloat32(fromFloat32(x, 'F16'), 'F16');
  const get = async (name: string, field?: LayerField) => {
    const data = (await weights.readF32(name)).data;
    if (!f16) return Float64Array.from(data);
    const plusOne = cfg.gemma !== undefined && (field === undefined ? name === 'model.norm.weight' : isNorm(field));
    if (plusOne) return Float64Array.from(round(data.map((x) => x + 1)), (x) => x - 1);
    return Float64Array.from(round(data));
  };
  const embed = await get('model.embed_tokens.weight');
  const layers = (await mapLayers(cfg, (n) => weights.tensors.has(n), get)) as RefLayer[];
  const norm = await get('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight');
  return { cfg, embed, lmHead, norm, layers };
}
