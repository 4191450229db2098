// Random models of real shapes (SmolLM2-135M, -360M) for the benchmarks, built in memory without a tokenizer:
// only config.json and the weights are needed to time kernels and training steps.
import { fromFloat32 } from '../model/dtype';
import { openModel, type ModelFiles } from '../model/open';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors-write';
import { BytesSource } from '../model/source';
import { Rng } from '../util/rng';
import { expectedTensors } from '../model/weights-layout';
import { parseModelConfig } from '../model/config';

export const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
  num_attention_heads: 9, num_key_value_heads: 3, rms_norm_eps: 1e-5, rope_theta: 100000, vocab_size: 49152,
  max_position_embeddings: 8192, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
};
export const SMOLLM2_360M = {
  ...SMOLLM2_135M, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32, num_attention_heads: 15,
  num_key_value_heads: 5,
};

export async function randomModel(configJson: object, seed = 0): Promise<ModelFiles> {
  const cfg = parseModelConfig(configJson);
  const rng = new Rng(seed);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, shape] of expectedTensors(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.endsWith('norm.weight');
    const std = name.includes('embed') ? 1 : 1 / Math.sqrt(shape.at(-1)!);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = isNorm ? 1 : std * (2 * rng.next() - 1) * Math.sqrt(3);
    tensors[name] = { dtype: 'F16', shape, data: fromFloat32(values, 'F16') };
  }
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(JSON.stringify(configJson))],
    ['model.safetensors', writeSafetensors(tensors)],
  ]);
  return openModel({ name: 'random', open: async (f) => (files.has(f) ? new BytesSource(f, files.get(f)!) : null) });
}
