// Adapter export and import: the metadata as the CLI writes it, a PEFT .zip that reads back bit for bit, and the
// refusals (another model's weights named in the metadata; tensors that do not fit the loaded model).
import { describe, expect, it } from 'vitest';
import { DEFAULT_LORA, loraLayout } from '../llama/lora';
import { ModelError } from '../model/errors';
import type { StoredAdapter } from '../store/schema';
import { unzipFiles, zipFiles } from '../store/zip';
import { DEFAULT_LOSS } from '../train/variants';
import type { TrainSettings } from '../worker/api';
import { promptForAdapter, buildAdapterMeta, configOf, defaultAdapterName, exportFiles, importedMeta, importFiles, WrongModelError, type ModelShape } from './adapter-io';

const shape: ModelShape = {
  source: 'tiny:qwen2:0', weightHash: 'fnv1a64:00000000000000aa', architecture: 'qwen2', hidden_size: 8, intermediate_size: 16,
  num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 32, max_position_embeddings: 128,
  tie_word_embeddings: true, parameters: 1234,
};
const settings: TrainSettings = {
  lora: { ...DEFAULT_LORA, rank: 2, alpha: 4 }, loss: DEFAULT_LOSS, epochs: 1, batchSize: 2, lr: 1e-3, warmupFraction: 0.03,
  seed: 0, checkpointEvery: 1, maxTokensPerMicroBatch: 256,
};

async function adapter(s: TrainSettings = settings): Promise<StoredAdapter> {
  const layout = loraLayout(configOf(shape), s.lora);
  const params = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i));
  const meta = await buildAdapterMeta({
    model: shape, prompt: { text: 'You are terse.', tokens: 7 }, thinking: false, settings: s, memory: null,
    dataset: { name: 'd', records: [], figures: null }, curve: [{ step: 1, loss: 2, sft: 2, pg: null, kl: null, lr: 1e-3, gradNorm: 1, tokens: 10 }], created: 0,
  });
  return { id: 'a1', name: 'terse', created: 0, model: { id: shape.source, weightHash: shape.weightHash }, spec: layout.spec, params, meta, runId: null, evaluation: null };
}

describe('adapter metadata', () => {
  it('records the base model, P\'s hash and size, the LoRA with PEFT module names, and what the adapter can reveal', async () => {
    const { meta } = await adapter();
    expect(meta.base_model).toEqual({ id: 'tiny:qwen2:0', architecture: 'qwen2', weight_hash: shape.weightHash, parameters: 1234 });
    expect(meta.prompt.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.prompt).toMatchObject({ chars: 14, tokens: 7 });
    expect(meta.lora.targets).toContain('q_proj');
    // The variant's switch applied (on_policy, the default, trains no SFT or PG term), as the CLI records it too.
    expect(meta.training).toMatchObject({ variant: 'on_policy', sftWeight: 0, pgWeight: 0, klWeight: 1, epochs: 1, lr: 1e-3, max_tokens_per_micro_batch: 256 });
    expect(meta.warning).toMatch(/not trained to write its prompt out/);
    expect(meta.warning).not.toMatch(/prompt-generation loss/);
    // The same dataset fields `genpi train` writes (src/genpi/adapter-meta.ts builds both).
    expect(meta.dataset).toEqual({ name: 'd', records: 0, train: 0, heldout: 0, figures: null, skipped_lines: 0 });
    expect(meta.training).toHaveProperty('optimizer.maxNorm');
    expect(importedMeta(shape, settings.lora, 0).training).toEqual({ imported: true });
  });

  it('warns that a joint (prompt-generation) adapter can write its prompt back, and an import of unknown training too', async () => {
    const { meta } = await adapter({ ...settings, loss: { ...DEFAULT_LOSS, variant: 'joint' } });
    expect(meta.training).toMatchObject({ variant: 'joint', sftWeight: 0.7, pgWeight: 0.3 });
    expect(meta.training).not.toHaveProperty('klWeight');
    expect(meta.warning).toMatch(/trained to write its prompt back out .*Keep it as secret as the prompt/);
    expect(importedMeta(shape, settings.lora, 0).warning).toMatch(/write its prompt back out/);
  });

  it('names adapters after the preset and the time', () => {
    expect(defaultAdapterName('OS shell agent', new Date(2025, 0, 2, 3, 4).getTime())).toBe('OS shell agent 2025-01-02 03:04');
    expect(defaultAdapterName(null, new Date(2025, 0, 2, 3, 4).getTime())).toBe('adapter 2025-01-02 03:04');
  });
});

describe('adapter zip', () => {
  it('exports PEFT files that import back with the same parameters', async () => {
    const a = await adapter();
    const zip = zipFiles(exportFiles(a, shape));
    const files = unzipFiles(zip);
    expect([...files.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'genpi_adapter.json']);
    const back = await importFiles(files, shape, 'terse.zip');
    expect(back.params).toEqual(a.params);
    expect(back.spec.rank).toBe(2);
    expect(back.meta?.prompt.sha256).toBe(a.meta.prompt.sha256);
  });

  it('refuses an adapter whose metadata names other weights, saying which model to load', async () => {
    const files = exportFiles(await adapter(), shape);
    const other = { ...shape, source: 'other', weightHash: 'fnv1a64:ffff' };
    await expect(importFiles(files, other, 'terse.zip')).rejects.toThrow(WrongModelError);
    await expect(importFiles(files, other, 'terse.zip')).rejects.toThrow(/Load tiny:qwen2:0/);
  });

  it('refuses tensors that do not fit the loaded model when there is no metadata', async () => {
    const files = exportFiles(await adapter(), shape);
    files.delete('genpi_adapter.json');
    await expect(importFiles(files, { ...shape, hidden_size: 16 }, 'x.zip')).rejects.toThrow(ModelError);
  });
});

describe('promptForAdapter', () => {
  it('finds the prompt whose hash the adapter recorded, or none', async () => {
    const { meta } = await adapter();
    expect(await promptForAdapter(meta, [null, 'other', 'You are terse.'])).toBe('You are terse.');
    expect(await promptForAdapter(meta, ['other', ''])).toBeNull();
    expect(await promptForAdapter(importedMeta(shape, settings.lora, 0), ['', 'typed'])).toBe('typed');
  });
});
