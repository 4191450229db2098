// PEFT adapter files: export then import gives back the same adapter; config fields the engine does not support,
// and tensors that do not fit the model, are refused with the field or tensor named.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../model/config';
import { ModelError } from '../model/errors';
import { BytesSource, type FileSet } from '../model/source';
import { initLora, loraLayout, LORA_TARGETS } from './lora';
import { ADAPTER_CONFIG, exportPeft, importPeft, parsePeftConfig } from './peft';

const cfg = parseModelConfig({
  architectures: ['Qwen2ForCausalLM'], hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, vocab_size: 387, max_position_embeddings: 2048,
});
const files = (m: Map<string, Uint8Array>): FileSet => ({ name: 'adapter', open: async (f) => (m.has(f) ? new BytesSource(`adapter/${f}`, m.get(f)!) : null) });

describe('LoRA layout', () => {
  it('packs A [R,K] then B [N,R] for every layer and target, in a canonical order', () => {
    const l = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['v', 'q'] });
    expect(l.slots.map((s) => `${s.layer}.${s.target}`)).toEqual(['0.q', '0.v', '1.q', '1.v']);
    expect(l.slots[1]).toMatchObject({ K: 64, N: 32, aOffset: 4 * 64 + 64 * 4, bOffset: 2 * 4 * 64 + 64 * 4 });
    expect(l.size).toBe(2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4));
    expect(l.scale).toBe(2);
    expect(loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['q'], useRslora: true }).scale).toBe(4);
  });

  it('initializes A like PEFT (uniform within 1/sqrt(K)) and B to zero, deterministically', () => {
    const l = loraLayout(cfg, { rank: 8, alpha: 16, dropout: 0, targets: [...LORA_TARGETS] });
    const p = initLora(l, 5);
    expect(initLora(l, 5)).toEqual(p);
    for (const s of l.slots) {
      const A = p.subarray(s.aOffset, s.aOffset + 8 * s.K);
      expect(Math.max(...A.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(s.K));
      expect(Math.max(...A.map(Math.abs))).toBeGreaterThan(0.5 / Math.sqrt(s.K));
      expect(p.subarray(s.bOffset, s.bOffset + s.N * 8).every((x) => x === 0)).toBe(true);
    }
  });
});

describe('PEFT files', () => {
  it('round-trips an adapter', async () => {
    const layout = loraLayout(cfg, { rank: 4, alpha: 16, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
    const params = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i));
    const out = exportPeft({ layout, params, baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
    const config = JSON.parse(new TextDecoder().decode(out.get(ADAPTER_CONFIG)));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 16, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    const back = await importPeft(files(out), cfg);
    expect(back.params).toEqual(params);
    expect(back.layout.spec).toEqual(layout.spec);
    expect(back.baseModel).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
  });

  it('refuses what it cannot apply, naming the field', () => {
    const base = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'] };
    const bad: [object, RegExp][] = [
      [{ ...base, r: 0 }, /r: must be a whole number/],
      [{ ...base, target_modules: 'q_proj|v_proj' }, /target_modules: must be a list/],
      [{ ...base, target_modules: ['embed_tokens'] }, /target_modules: has "embed_tokens"/],
      [{ ...base, peft_type: 'IA3' }, /peft_type IA3 is not LORA/],
      [{ ...base, layers_to_transform: [0] }, /layers_to_transform: is set/],
      [{ ...base, bias: 'all' }, /bias: only "none"/],
      [{ ...base, use_dora: true }, /adapter_config\.json: use_dora: is true: DoRA .* is not implemented here, and running it as plain LoRA would give wrong outputs/],
      [{ ...base, lora_bias: true }, /lora_bias: is true: a bias on lora_B is not implemented/],
      [{ ...base, fan_in_fan_out: true }, /fan_in_fan_out: is true/],
      [{ ...base, use_qalora: true }, /use_qalora: is true/],
      [{ ...base, layer_replication: [[0, 1]] }, /layer_replication: is set/],
      [{ ...base, trainable_token_indices: [5] }, /trainable_token_indices: is set/],
    ];
    for (const [json, pattern] of bad) {
      expect(() => parsePeftConfig(json)).toThrow(ModelError);
      expect(() => parsePeftConfig(json)).toThrow(pattern);
    }
    // What PEFT writes by default for a plain LoRA passes.
    expect(() => parsePeftConfig({ ...base, use_dora: false, lora_bias: false, fan_in_fan_out: false, layer_replication: null, modules_to_save: null })).not.toThrow();
  });

  it('says r disagrees with the weights when only the rank differs, not that the adapter is for another model', async () => {
    const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'] });
    const out = exportPeft({ layout, params: new Float32Array(layout.size), baseModel: 'x' });
    const config = JSON.parse(new TextDecoder().decode(out.get(ADAPTER_CONFIG)));
    out.set(ADAPTER_CONFIG, new TextEncoder().encode(JSON.stringify({ ...config, r: 8 })));
    await expect(importPeft(files(out), cfg)).rejects.toThrow(
      /adapter_config\.json: r: says r = 8, but the tensors in adapter_model\.safetensors have rank 4 \(they fit this model otherwise\)/,
    );
    const other = parseModelConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 32, intermediate_size: 96, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, vocab_size: 387, max_position_embeddings: 2048 });
    await expect(importPeft(files(exportPeft({ layout: loraLayout(other, layout.spec), params: new Float32Array(loraLayout(other, layout.spec).size), baseModel: 'x' })), cfg))
      .rejects.toThrow(/was it made for another model\?/);
  });

  it('reports missing tensors when the adapter covers fewer layers than the model', async () => {
    const small = parseModelConfig({ ...JSON.parse(JSON.stringify({
      architectures: ['Qwen2ForCausalLM'], hidden_size: 64, intermediate_size: 96, num_hidden_layers: 1,
      num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, vocab_size: 387, max_position_embeddings: 2048 })) });
    const l = loraLayout(small, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] });
    const out = exportPeft({ layout: l, params: new Float32Array(l.size), baseModel: 'x' });
    await expect(importPeft(files(out), cfg)).rejects.toThrow(/missing base_model\.model\.model\.layers\.1\.self_attn\.q_proj\.lora_A\.weight/);
  });
});
