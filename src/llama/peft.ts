// LoRA adapters in PEFT's folder layout (adapter_config.json + adapter_model.safetensors, keys
// base_model.model.<module path>.lora_A.weight [R,K] and .lora_B.weight [N,R]), so an adapter trained here loads
// in Python's PEFT and one trained there loads here.
import type { ModelConfig } from '../model/config';
import { ModelError } from '../model/errors';
import { fromFloat32 } from '../model/dtype';
import { checkTensorValues } from '../model/finite';
import { readSafetensorsHeader, readTensorF32 } from '../model/safetensors';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors-write';
import { openRequired, readJson, type FileSet } from '../model/source';
import { LORA_TARGETS, loraLayout, modulePath, type LoraLayout, type LoraSpec, type LoraTarget } from './lora';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface LoraAdapter {
  layout: LoraLayout;
  /** [P] in the layout's order. */
  params: Float32Array;
  baseModel: string;
}

export function peftKey(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath(layer, target)}.lora_${which}.weight`;
}

export function exportPeft(adapter: LoraAdapter): Map<string, Uint8Array> {
  const { layout, params } = adapter;
  const R = layout.spec.rank;
  const tensors: Record<string, TensorToWrite> = {};
  for (const s of layout.slots) {
    tensors[peftKey(s.layer, s.target, 'A')] = {
      dtype: 'F32',
      shape: [R, s.K],
      data: fromFloat32(params.subarray(s.aOffset, s.aOffset + R * s.K), 'F32'),
    };
    tensors[peftKey(s.layer, s.target, 'B')] = {
      dtype: 'F32',
      shape: [s.N, R],
      data: fromFloat32(params.subarray(s.bOffset, s.bOffset + s.N * R), 'F32'),
    };
  }
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: adapter.baseModel,
    r: R,
    lora_alpha: layout.spec.alpha,
    lora_dropout: layout.spec.dropout,
    target_modules: layout.spec.targets.map((t) => `${t}_proj`),
    use_rslora: Boolean(layout.spec.useRslora),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
  };
  return new Map([
    [ADAPTER_CONFIG, new TextEncoder().encode(JSON.stringify(config, null, 2))],
    [ADAPTER_WEIGHTS, writeSafetensors(tensors, { format: 'pt' })],
  ]);
}

/** Settings that would put adapters on other layers or modules, with other ranks, or train extra weights. */
const UNSUPPORTED_SETTINGS = ['layers_to_transform', 'rank_pattern', 'alpha_pattern', 'modules_to_save', 'layer_replication',
  'target_parameters', 'trainable_token_indices', 'alora_invocation_tokens'];

/** PEFT's flags for LoRA variants whose forward pass differs from W x + (alpha / r) B A x. */
const UNSUPPORTED_VARIANTS: Record<string, string> = {
  use_dora: 'DoRA (weight-decomposed LoRA, a learned magnitude per output)',
  lora_bias: 'a bias on lora_B',
  fan_in_fan_out: 'fan_in_fan_out (transposed weights, as in GPT-2\'s Conv1D)',
  use_qalora: 'QA-LoRA (pooled inputs)',
};

/** Reads adapter_config.json into a LoraSpec, refusing PEFT features the engine does not implement. */
export function parsePeftConfig(json: unknown, file = ADAPTER_CONFIG): { spec: LoraSpec; baseModel: string } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelError(file, 'is not a JSON object');
  const c = json as Record<string, unknown>;
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw new ModelError(file, `peft_type ${String(c.peft_type)} is not LORA`, 'peft_type');
  const r = c.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) throw new ModelError(file, 'must be a whole number >= 1', 'r');
  const alpha = c.lora_alpha ?? r;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new ModelError(file, 'must be a number > 0', 'lora_alpha');
  const mods = c.target_modules;
  if (!Array.isArray(mods) || mods.length === 0) {
    throw new ModelError(file, 'must be a list of module names such as ["q_proj","v_proj"] (regex strings are not supported)', 'target_modules');
  }
  const targets: LoraTarget[] = [];
  for (const m of mods) {
    const t = typeof m === 'string' ? (m.split('.').at(-1) ?? '').replace(/_proj$/, '') : '';
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new ModelError(file, `has "${String(m)}"; supported: ${LORA_TARGETS.map((x) => `${x}_proj`).join(', ')}`, 'target_modules');
    }
    targets.push(t as LoraTarget);
  }
  for (const unsupported of UNSUPPORTED_SETTINGS) {
    const v = c[unsupported];
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0)) {
      throw new ModelError(file, 'is set, which this engine does not support', unsupported);
    }
  }
  // Variants of LoRA that change the forward pass: run as plain LoRA they would load without a word and compute
  // something else.
  for (const [flag, what] of Object.entries(UNSUPPORTED_VARIANTS)) {
    if (c[flag] === true) throw new ModelError(file, `is true: ${what} is not implemented here, and running it as plain LoRA would give wrong outputs`, flag);
  }
  if (c.bias !== undefined && c.bias !== 'none') throw new ModelError(file, 'only "none" is supported', 'bias');
  const dropout = typeof c.lora_dropout === 'number' ? c.lora_dropout : 0;
  return {
    spec: { rank: r, alpha, dropout, targets, useRslora: c.use_rslora === true },
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : '',
  };
}

/** Loads a PEFT folder for `cfg`, checking every tensor's presence and shape against the model. */
export async function importPeft(files: FileSet, cfg: ModelConfig): Promise<LoraAdapter> {
  const cfgSrc = await openRequired(files, ADAPTER_CONFIG);
  const { spec, baseModel } = parsePeftConfig(await readJson(cfgSrc), cfgSrc.name);
  const layout = loraLayout(cfg, spec);
  const src = await openRequired(files, ADAPTER_WEIGHTS);
  const header = await readSafetensorsHeader(src);
  const params = new Float32Array(layout.size);
  const R = spec.rank;
  const problems: string[] = [];
  const used = new Set<string>();
  // Tensors that fit the model but have another rank than r: the config and the weights disagree.
  const ranks = new Set<number>();
  let misshaped = 0;
  for (const s of layout.slots) {
    for (const [which, shape, offset] of [['A', [R, s.K], s.aOffset], ['B', [s.N, R], s.bOffset]] as const) {
      const key = peftKey(s.layer, s.target, which);
      const info = header.tensors.get(key);
      used.add(key);
      if (!info) {
        problems.push(`missing ${key}`);
      } else if (info.shape.join(',') !== shape.join(',')) {
        problems.push(`${key} is [${info.shape}] but this model needs [${shape}]`);
        misshaped++;
        const rank = which === 'A' ? info.shape[0] : info.shape[1];
        const other = which === 'A' ? info.shape[1] : info.shape[0];
        if (info.shape.length === 2 && other === (which === 'A' ? s.K : s.N)) ranks.add(rank);
        else ranks.add(-1);
      } else {
        const { data } = await readTensorF32(src, header, key);
        checkTensorValues(data, src.name, key, info.shape);
        params.set(data, offset);
      }
    }
  }
  const extra = [...header.tensors.keys()].filter((k) => !used.has(k));
  if (extra.length) problems.push(`tensors this model has no place for: ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ` and ${extra.length - 4} more` : ''}`);
  if (problems.length && problems.length === misshaped && ranks.size === 1 && !ranks.has(-1)) {
    throw new ModelError(
      cfgSrc.name,
      `says r = ${R}, but the tensors in ${ADAPTER_WEIGHTS} have rank ${[...ranks][0]} (they fit this model otherwise): ` +
        'the config and the weights disagree; set r to the weights\' rank',
      'r',
    );
  }
  if (problems.length) {
    throw new ModelError(
      src.name,
      `does not fit this model (${cfg.architecture}, ${cfg.numLayers} layers, hidden ${cfg.hiddenSize}); was it made for another model? ` +
        problems.slice(0, 4).join('; ') + (problems.length > 4 ? `; and ${problems.length - 4} more` : ''),
    );
  }
  return { layout, params, baseModel };
}
