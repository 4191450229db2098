// Tiny models must be byte-for-byte reproducible and shaped exactly like the Hugging Face files they stand in for.
import { describe, expect, it } from 'vitest';
import { toFloat32, type DType } from '../dtype';
import { buildBpeTokenizer } from './bpe';
import { makeTinyModel, type TinyModelOptions } from './make';
import { Rng } from '../../util/rng';

type Header = Record<string, { dtype: DType; shape: number[]; data_offsets: [number, number] }>;

/** A few-line safetensors header parser, independent of the real reader. */
function parse(bytes: Uint8Array): { header: Header; tensor(name: string): Float32Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const { __metadata__: _, ...header } = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  return {
    header,
    tensor(name) {
      const t = header[name];
      return toFloat32(bytes.slice(base + t.data_offsets[0], base + t.data_offsets[1]), t.dtype);
    },
  };
}

const json = (files: Map<string, Uint8Array>, name: string) => JSON.parse(new TextDecoder().decode(files.get(name)!));

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length) };
}

function expectedShapes(arch: 'llama' | 'qwen2' | 'qwen3' | 'gemma3', tied: boolean, V: number): Record<string, number[]> {
  // Qwen3's tiny default doubles head_dim, so q (H*D) is wider than the hidden size, as in Qwen3-0.6B.
  const D = arch === 'qwen3' ? 32 : 16;
  const [C, F, HD, KVD] = [64, 96, 4 * D, 2 * D];
  const out: Record<string, number[]> = { 'model.embed_tokens.weight': [V, C], 'model.norm.weight': [C] };
  for (let i = 0; i < 2; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(out, {
      [`${p}input_layernorm.weight`]: [C],
      [`${p}self_attn.q_proj.weight`]: [HD, C],
      [`${p}self_attn.k_proj.weight`]: [KVD, C],
      [`${p}self_attn.v_proj.weight`]: [KVD, C],
      [`${p}self_attn.o_proj.weight`]: [C, HD],
      [`${p}post_attention_layernorm.weight`]: [C],
      [`${p}mlp.gate_proj.weight`]: [F, C],
      [`${p}mlp.up_proj.weight`]: [F, C],
      [`${p}mlp.down_proj.weight`]: [C, F],
    });
    if (arch === 'qwen2') {
      Object.assign(out, {
        [`${p}self_attn.q_proj.bias`]: [HD],
        [`${p}self_attn.k_proj.bias`]: [KVD],
        [`${p}self_attn.v_proj.bias`]: [KVD],
      });
    }
    if (arch === 'qwen3' || arch === 'gemma3') Object.assign(out, { [`${p}self_attn.q_norm.weight`]: [D], [`${p}self_attn.k_norm.weight`]: [D] });
    if (arch === 'gemma3') Object.assign(out, { [`${p}pre_feedforward_layernorm.weight`]: [C], [`${p}post_feedforward_layernorm.weight`]: [C] });
  }
  if (!tied) out['lm_head.weight'] = [V, C];
  return out;
}

describe('Rng', () => {
  it('is deterministic, uniform in [0,1), and forks by name independently of position', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(new Rng(8).next()).not.toBe(new Rng(7).next());
    const fresh = new Rng(7).fork('w').normals(4);
    expect(a.fork('w').normals(4)).toEqual(fresh);
    expect(a.fork('v').normals(4)).not.toEqual(fresh);
    const s = stats(new Rng(1).normals(20000));
    expect(Math.abs(s.mean)).toBeLessThan(0.03);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.03);
  });
});

describe('buildBpeTokenizer', () => {
  it('has the specials at 0..2, all 256 bytes, and the requested merges', () => {
    const t = buildBpeTokenizer();
    expect(t.model.vocab['<|endoftext|>']).toBe(0);
    expect(t.model.vocab['<|im_start|>']).toBe(1);
    expect(t.model.vocab['<|im_end|>']).toBe(2);
    expect(t.model.vocab['!']).toBe(3); // GPT-2's byte order: printable bytes first
    expect(t.model.merges.length).toBe(128);
    expect(Object.keys(t.model.vocab).length).toBe(3 + 256 + 128);
    expect(new Set(Object.values(t.model.vocab)).size).toBe(Object.keys(t.model.vocab).length);
    expect(t.model.vocab['Ġthe']).toBeDefined();
    expect(buildBpeTokenizer()).toEqual(t);
  });
});

describe('makeTinyModel', () => {
  it('gives byte-identical files for the same seed and different weights for another seed', () => {
    const a = makeTinyModel({ seed: 3 });
    const b = makeTinyModel({ seed: 3 });
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, bytes] of a) expect(Buffer.from(bytes).equals(Buffer.from(b.get(name)!)), name).toBe(true);
    const c = makeTinyModel({ seed: 4 });
    expect(Buffer.from(c.get('model.safetensors')!).equals(Buffer.from(a.get('model.safetensors')!))).toBe(false);
    expect(c.get('tokenizer.json')).toEqual(a.get('tokenizer.json'));
  });

  it('keeps a tensor unchanged when another tensor is added (named sub-streams)', () => {
    const tied = parse(makeTinyModel({ tieWordEmbeddings: true }).get('model.safetensors')!);
    const untied = parse(makeTinyModel({ tieWordEmbeddings: false }).get('model.safetensors')!);
    expect(untied.tensor('model.layers.1.mlp.up_proj.weight')).toEqual(tied.tensor('model.layers.1.mlp.up_proj.weight'));
  });

  const cases: TinyModelOptions[] = [];
  for (const arch of ['llama', 'qwen2', 'qwen3', 'gemma3'] as const)
    for (const tieWordEmbeddings of [true, false])
      for (const dtype of ['f32', 'f16', 'bf16'] as const) cases.push({ arch, tieWordEmbeddings, dtype });

  it.each(cases)('writes every tensor with its HF name, shape and dtype: %o', (opts) => {
    const files = makeTinyModel(opts);
    const config = json(files, 'config.json');
    const V = config.vocab_size;
    expect(V).toBe(Object.keys(json(files, 'tokenizer.json').model.vocab).length);
    const { header } = parse(files.get('model.safetensors')!);
    const want = expectedShapes(opts.arch!, opts.tieWordEmbeddings!, V);
    expect(Object.keys(header).sort()).toEqual(Object.keys(want).sort());
    const dtype = { f32: 'F32', f16: 'F16', bf16: 'BF16' }[opts.dtype!];
    for (const [name, t] of Object.entries(header)) {
      expect(t.shape, name).toEqual(want[name]);
      expect(t.dtype, name).toBe(dtype);
    }
    expect(config.torch_dtype).toBe({ f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[opts.dtype!]);
    expect(config.tie_word_embeddings).toBe(opts.tieWordEmbeddings);
  });

  it('writes Hugging Face config keys for llama, qwen2 and qwen3', () => {
    const llama = json(makeTinyModel({ ropeScaling: 'llama3' }), 'config.json');
    expect(llama).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      hidden_act: 'silu',
      attention_bias: false,
      tie_word_embeddings: true,
      max_position_embeddings: 2048,
      bos_token_id: 1,
      eos_token_id: 2,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
    const files = makeTinyModel({ arch: 'qwen2' });
    const qwen = json(files, 'config.json');
    expect(qwen).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: false, rope_scaling: null });
    expect('attention_bias' in qwen).toBe(false);
    expect(json(files, 'generation_config.json').eos_token_id).toEqual([2, 0]);
    expect(json(files, 'tokenizer_config.json').tokenizer_class).toBe('Qwen2Tokenizer');
    expect(json(makeTinyModel({ arch: 'qwen3' }), 'config.json')).toMatchObject({
      architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 32, attention_bias: false, tie_word_embeddings: true,
    });
    const gemma = json(makeTinyModel({ arch: 'gemma3' }), 'config.json');
    expect(gemma).toMatchObject({
      architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', head_dim: 16, hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: 32, sliding_window: 4, layer_types: ['sliding_attention', 'full_attention'], tie_word_embeddings: true,
    });
    expect('hidden_act' in gemma).toBe(false);
    expect(json(makeTinyModel(), 'tokenizer_config.json')).toMatchObject({
      tokenizer_class: 'GPT2Tokenizer',
      eos_token: '<|im_end|>',
      add_bos_token: false,
    });
  });

  it('draws weights at scales that keep the outputs far from uniform', () => {
    const st = parse(makeTinyModel({ arch: 'qwen2', dtype: 'bf16', seed: 5 }).get('model.safetensors')!);
    expect(stats(st.tensor('model.embed_tokens.weight')).std).toBeGreaterThan(0.8);
    const q = stats(st.tensor('model.layers.0.self_attn.q_proj.weight'));
    expect(q.std).toBeGreaterThan(0.8 / 8);
    expect(q.std).toBeLessThan(1.2 / 8);
    const down = stats(st.tensor('model.layers.0.mlp.down_proj.weight'));
    expect(down.std * Math.sqrt(96)).toBeCloseTo(1, 0);
    const norm = st.tensor('model.layers.0.input_layernorm.weight');
    expect(stats(norm).mean).toBeCloseTo(1, 1);
    expect(stats(norm).std).toBeGreaterThan(0.02);
    const bias = stats(st.tensor('model.layers.1.self_attn.k_proj.bias'));
    expect(bias.std).toBeGreaterThan(0.02);
    expect(bias.std).toBeLessThan(0.5);
    expect(stats(st.tensor('lm_head.weight')).std).toBeGreaterThan(0.1);
  });

  it('scales queries and keys (qkScale) and the head (headStd) and leaves every other tensor alone', () => {
    const base = parse(makeTinyModel({ arch: 'qwen2', seed: 2 }).get('model.safetensors')!);
    const flat = parse(makeTinyModel({ arch: 'qwen2', seed: 2, qkScale: 0.1, headStd: 1.5 }).get('model.safetensors')!);
    for (const name of Object.keys(base.header)) {
      if (name === '__metadata__') continue;
      const a = base.tensor(name);
      const b = flat.tensor(name);
      const factor = /\.(q|k)_proj\./.test(name) ? 0.1 : name === 'lm_head.weight' ? 3 : 1;
      // The head's quiet rows are scaled after drawing, so the ratio holds for them too.
      for (let i = 0; i < a.length; i += 7) expect(b[i], name).toBeCloseTo(a[i] * factor, 5);
    }
  });

  it('honours the size knobs', () => {
    const files = makeTinyModel({ hiddenSize: 48, numHeads: 6, numKvHeads: 3, numLayers: 3, intermediateSize: 80, headDim: 12 });
    const { header } = parse(files.get('model.safetensors')!);
    expect(header['model.layers.2.self_attn.q_proj.weight'].shape).toEqual([72, 48]);
    expect(header['model.layers.2.self_attn.k_proj.weight'].shape).toEqual([36, 48]);
    expect(header['model.layers.2.mlp.down_proj.weight'].shape).toEqual([48, 80]);
    expect(json(files, 'config.json').head_dim).toBe(12);
    expect(() => makeTinyModel({ numHeads: 4, numKvHeads: 3 })).toThrow(/multiple/);
  });
});
