// Weight indexes over single files and sharded folders (built in memory), their consistency errors, and
// checkWeights against llama and qwen2 layouts.
import { describe, expect, it } from 'vitest';
import { parseModelConfig, type ModelConfig } from './config';
import { fromFloat32, type DType } from './dtype';
import { MissingFileError, ModelError } from './errors';
import { writeSafetensors, type TensorToWrite } from './safetensors-write';
import { BytesSource, type ByteSource, type FileSet } from './source';
import { INDEX_FILE, openWeights } from './weights';
import { checkWeights, expectedTensors, MAX_LISTED } from './weights-layout';

/** A model folder in memory; strings are stored as UTF-8. */
class MapFileSet implements FileSet {
  readonly name = 'models/tiny';
  constructor(private readonly files: Map<string, Uint8Array | string>) {}
  async open(file: string): Promise<ByteSource | null> {
    const v = this.files.get(file);
    if (v === undefined) return null;
    return new BytesSource(`${this.name}/${file}`, typeof v === 'string' ? new TextEncoder().encode(v) : v);
  }
}

const tinyJson = (arch: 'LlamaForCausalLM' | 'Qwen2ForCausalLM', extra: object = {}) => ({
  architectures: [arch],
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  rms_norm_eps: 1e-6,
  vocab_size: 10,
  max_position_embeddings: 32,
  ...extra,
});
const llama = parseModelConfig(tinyJson('LlamaForCausalLM'));
const llamaTied = parseModelConfig(tinyJson('LlamaForCausalLM', { tie_word_embeddings: true }));
const qwen2 = parseModelConfig(tinyJson('Qwen2ForCausalLM', { tie_word_embeddings: true }));

/** Tensors of the expected layout, filled with i*0.25 so values are exact in every dtype. */
function tensorsFor(cfg: ModelConfig, dtype: DType = 'F32'): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, shape] of expectedTensors(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { dtype, shape, data: fromFloat32(Array.from({ length: n }, (_, i) => i * 0.25), dtype) };
  }
  return out;
}

function pick(all: Record<string, TensorToWrite>, keep: (name: string) => boolean): Record<string, TensorToWrite> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => keep(k)));
}

const indexJson = (map: Record<string, string>) => JSON.stringify({ metadata: { total_size: 0 }, weight_map: map });

/** Two shards: layer 0 and the embedding in the first, everything else in the second. */
function sharded(cfg: ModelConfig) {
  const all = tensorsFor(cfg);
  const inFirst = (n: string) => n.startsWith('model.layers.0.') || n === 'model.embed_tokens.weight';
  const s1 = 'model-00001-of-00002.safetensors';
  const s2 = 'model-00002-of-00002.safetensors';
  const map = Object.fromEntries(Object.keys(all).map((n) => [n, inFirst(n) ? s1 : s2]));
  const files = new Map<string, Uint8Array | string>([
    [s1, writeSafetensors(pick(all, inFirst))],
    [s2, writeSafetensors(pick(all, (n) => !inFirst(n)))],
    [INDEX_FILE, indexJson(map)],
  ]);
  return { all, map, files, s1, s2 };
}

async function openFails(files: Map<string, Uint8Array | string>, cls: typeof ModelError, ...patterns: (string | RegExp)[]) {
  let err: unknown;
  try {
    await openWeights(new MapFileSet(files));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
  return err as ModelError;
}

describe('openWeights', () => {
  it('indexes model.safetensors: dtypes, parameter count, reads', async () => {
    const t = { ...tensorsFor(llama), 'model.norm.weight': { dtype: 'BF16' as const, shape: [8], data: fromFloat32([1, 2, 3, 4, 5, 6, 7, 8], 'BF16') } };
    const w = await openWeights(new MapFileSet(new Map([['model.safetensors', writeSafetensors(t)]])));
    expect(w.name).toBe('models/tiny');
    expect(w.tensors.size).toBe(expectedTensors(llama).size);
    expect(w.dtypes).toEqual(['BF16', 'F32']);
    const sum = Object.values(t).reduce((a, x) => a + x.shape.reduce((p, d) => p * d, 1), 0);
    expect(w.parameterCount).toBe(sum);
    // 2 layers x (2 norms 8 + q 8x8 + k,v 4x8 + o 8x8 + 3 mlp 12x8) + embed 10x8 + norm 8 + lm_head 10x8
    expect(sum).toBe(2 * (16 + 64 + 64 + 64 + 288) + 80 + 8 + 80);
    const q = await w.readF32('model.layers.1.self_attn.q_proj.weight');
    expect(q.shape).toEqual([8, 8]);
    expect(q.data[5]).toBe(1.25);
    expect([...(await w.readF32('model.norm.weight')).data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const raw = await w.read('model.norm.weight');
    expect(raw.dtype).toBe('BF16');
    expect(raw.bytes.byteLength).toBe(16);
    expect(w.tensors.get('model.norm.weight')?.file).toBe('model.safetensors');
    await expect(w.read('nope')).rejects.toThrow(/models\/tiny: nope: no such tensor/);
  });

  it('indexes two shards through model.safetensors.index.json', async () => {
    const { all, files, s1, s2 } = sharded(qwen2);
    const w = await openWeights(new MapFileSet(files));
    expect(w.tensors.size).toBe(Object.keys(all).length);
    expect(w.tensors.get('model.embed_tokens.weight')?.file).toBe(s1);
    expect(w.tensors.get('model.layers.1.self_attn.q_proj.bias')?.file).toBe(s2);
    expect(w.tensors.get('model.norm.weight')?.source.name).toBe(`models/tiny/${s2}`);
    expect(w.parameterCount).toBe(Object.values(all).reduce((a, x) => a + x.data.byteLength / 4, 0));
    const b = await w.readF32('model.layers.1.self_attn.k_proj.bias');
    expect([...b.data]).toEqual([0, 0.25, 0.5, 0.75]);
    expect(() => checkWeights(w, qwen2)).not.toThrow();
  });

  it('says a model folder needs model.safetensors or the index', async () => {
    const e = await openFails(new Map(), MissingFileError, 'models/tiny/model.safetensors', /needs model\.safetensors or model\.safetensors\.index\.json/);
    expect(e.file).toBe('models/tiny/model.safetensors');
  });

  it('names a shard the index lists that is missing', async () => {
    const { files, s2 } = sharded(llama);
    files.delete(s2);
    const e = await openFails(files, MissingFileError, `models/tiny/${s2}`, /names it as a shard/);
    expect(e.file).toBe(`models/tiny/${s2}`);
  });

  it('refuses an index that is not JSON or has no weight_map', async () => {
    const { files } = sharded(llama);
    await openFails(new Map([...files, [INDEX_FILE, '{"weight_map": ']]), ModelError, `models/tiny/${INDEX_FILE}: not valid JSON`);
    await openFails(new Map([...files, [INDEX_FILE, '[]']]), ModelError, `${INDEX_FILE}: must be a JSON object`);
    await openFails(new Map([...files, [INDEX_FILE, '{"metadata": {}}']]), ModelError, `${INDEX_FILE}: weight_map: must be an object`);
    await openFails(new Map([...files, [INDEX_FILE, indexJson({})]]), ModelError, `${INDEX_FILE}: weight_map: lists no tensors`);
  });

  it('refuses shard names that are not files in the folder', async () => {
    const { files } = sharded(llama);
    await openFails(new Map([...files, [INDEX_FILE, indexJson({ a: 7 } as never)]]), ModelError, /weight_map\.a: shard must be a file name/);
    await openFails(new Map([...files, [INDEX_FILE, indexJson({ a: '../x.safetensors' })]]), ModelError, /weight_map\.a: .*inside the model folder/);
  });

  it('refuses a tensor the index assigns to a shard that lacks it', async () => {
    const { files, map, s1 } = sharded(llama);
    files.set(INDEX_FILE, indexJson({ ...map, 'model.norm.weight': s1 }));
    const e = await openFails(files, ModelError, `models/tiny/${s1}: model.norm.weight: `, /assigns this tensor to this shard, but the shard lacks it/);
    expect(e.field).toBe('model.norm.weight');
  });

  it('refuses a tensor in a shard that the index does not list', async () => {
    const { files, map, s2 } = sharded(llama);
    const rest = { ...map };
    delete rest['lm_head.weight'];
    files.set(INDEX_FILE, indexJson(rest));
    await openFails(files, ModelError, `models/tiny/${s2}: lm_head.weight: `, /is not listed in model\.safetensors\.index\.json/);
  });

  it('refuses a tensor present in two shards', async () => {
    const { files, all, s1, s2 } = sharded(llama);
    files.set(s1, writeSafetensors({ ...pick(all, (n) => n.startsWith('model.layers.0.') || n === 'model.embed_tokens.weight'), 'model.norm.weight': all['model.norm.weight'] }));
    await openFails(files, ModelError, `models/tiny/${s1}: model.norm.weight: `, new RegExp(`assigns it to ${s2} instead`));
  });

  it('passes on header errors naming the shard', async () => {
    const { files, s1 } = sharded(llama);
    files.set(s1, new Uint8Array(3));
    await openFails(files, ModelError, `models/tiny/${s1}: is 3 bytes, too short`);
  });
});

describe('expectedTensors', () => {
  it('lays out a llama with HF names and shapes', () => {
    const m = expectedTensors(llama);
    expect(m.get('model.embed_tokens.weight')).toEqual([10, 8]);
    expect(m.get('model.layers.1.self_attn.q_proj.weight')).toEqual([8, 8]);
    expect(m.get('model.layers.1.self_attn.k_proj.weight')).toEqual([4, 8]);
    expect(m.get('model.layers.1.self_attn.v_proj.weight')).toEqual([4, 8]);
    expect(m.get('model.layers.1.self_attn.o_proj.weight')).toEqual([8, 8]);
    expect(m.get('model.layers.0.mlp.gate_proj.weight')).toEqual([12, 8]);
    expect(m.get('model.layers.0.mlp.down_proj.weight')).toEqual([8, 12]);
    expect(m.get('lm_head.weight')).toEqual([10, 8]);
    expect(m.size).toBe(2 + 2 * 9 + 1);
    expect(m.has('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(expectedTensors(llamaTied).has('lm_head.weight')).toBe(false);
  });

  it('uses head_dim for the attention shapes', () => {
    const m = expectedTensors(parseModelConfig(tinyJson('LlamaForCausalLM', { head_dim: 6 })));
    expect(m.get('model.layers.0.self_attn.q_proj.weight')).toEqual([12, 8]);
    expect(m.get('model.layers.0.self_attn.k_proj.weight')).toEqual([6, 8]);
    expect(m.get('model.layers.0.self_attn.o_proj.weight')).toEqual([8, 12]);
  });

  it('adds q/k/v biases for qwen2 and o_proj too for llama attention_bias', () => {
    const q = expectedTensors(qwen2);
    expect(q.get('model.layers.1.self_attn.q_proj.bias')).toEqual([8]);
    expect(q.get('model.layers.1.self_attn.k_proj.bias')).toEqual([4]);
    expect(q.has('model.layers.1.self_attn.o_proj.bias')).toBe(false);
    const l = expectedTensors(parseModelConfig(tinyJson('LlamaForCausalLM', { attention_bias: true })));
    expect(l.get('model.layers.0.self_attn.v_proj.bias')).toEqual([4]);
    expect(l.get('model.layers.0.self_attn.o_proj.bias')).toEqual([8]);
  });
});

describe('checkWeights', () => {
  const shapesOf = (t: Record<string, TensorToWrite>) => ({
    name: 'models/tiny',
    tensors: new Map(Object.entries(t).map(([k, v]) => [k, { shape: v.shape }])),
  });
  const problem = (index: ReturnType<typeof shapesOf>, cfg: ModelConfig): ModelError => {
    try {
      checkWeights(index, cfg);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelError);
      expect((e as ModelError).file).toBe('models/tiny');
      return e as ModelError;
    }
    throw new Error('checkWeights accepted mismatched weights');
  };

  it('accepts matching weights, and a tied model that still ships lm_head.weight', () => {
    expect(() => checkWeights(shapesOf(tensorsFor(llama)), llama)).not.toThrow();
    expect(() => checkWeights(shapesOf(tensorsFor(llamaTied)), llamaTied)).not.toThrow();
    expect(() => checkWeights(shapesOf(tensorsFor(llama)), llamaTied)).not.toThrow();
  });

  it('reports missing, extra and misshaped llama tensors by name', () => {
    const t = tensorsFor(llama);
    delete t['model.layers.1.mlp.up_proj.weight'];
    t['model.layers.0.self_attn.rotary_emb.inv_freq'] = { dtype: 'F32', shape: [2], data: new Uint8Array(8) };
    t['model.layers.0.self_attn.k_proj.weight'] = { dtype: 'F32', shape: [8, 8], data: new Uint8Array(256) };
    const e = problem(shapesOf(t), llama);
    expect(e.message).toContain('models/tiny: weights do not match config.json (llama, 2 layers');
    expect(e.message).toContain('missing (1): model.layers.1.mlp.up_proj.weight');
    expect(e.message).toContain('extra (1): model.layers.0.self_attn.rotary_emb.inv_freq');
    expect(e.message).toContain('misshaped (1): model.layers.0.self_attn.k_proj.weight expected [4, 8] found [8, 8]');
  });

  it('requires the qwen2 biases and reports an untied lm_head of the wrong shape', () => {
    const t = pick(tensorsFor(qwen2), (n) => !n.endsWith('.bias'));
    t['lm_head.weight'] = { dtype: 'F32', shape: [8, 10], data: new Uint8Array(320) };
    const e = problem(shapesOf(t), qwen2);
    expect(e.message).toMatch(/missing \(6\): model\.layers\.0\.self_attn\.q_proj\.bias, .*model\.layers\.1\.self_attn\.v_proj\.bias/);
    expect(e.message).toContain('misshaped (1): lm_head.weight expected [10, 8] found [8, 10]');
    expect(e.message).not.toContain('extra');
  });

  it('requires lm_head.weight when embeddings are not tied', () => {
    const e = problem(shapesOf(tensorsFor(llamaTied)), llama);
    expect(e.message).toContain('missing (1): lm_head.weight');
  });

  it('caps long lists', () => {
    const e = problem({ name: 'models/tiny', tensors: new Map() }, llama);
    expect(e.message).toContain(`missing (21): model.embed_tokens.weight, `);
    expect(e.message).toContain(`and ${21 - MAX_LISTED} more`);
    expect(e.message).not.toContain('lm_head.weight');
    expect(e.message.split(', ').length).toBeLessThan(MAX_LISTED + 5);
  });
});
