// The fit check that runs before a model's weights are uploaded, on the real models' shapes and two devices.
import { describe, expect, it } from 'vitest';
import { SMOLLM2_135M } from '../bench/random-model';
import { parseModelConfig } from '../model/config';
import { weightBytes } from '../llama/planner';
import { GEMMA3_1B, GEMMA3_270M, LLAMA32_1B, QWEN3_06B } from '../testing/model-configs';
import { CURATED_MODELS } from '../ui/curated-models';
import { checkModelFits, generatorSize } from './sizing';

const MiB = 2 ** 20;
const limits = (maxBufferSize: number) => ({ maxBufferSize, maxStorageBufferBindingSize: Math.min(maxBufferSize, 2 ** 31 - 4) }) as GPUSupportedLimits;
const LLAMA_8B = { ...LLAMA32_1B, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, head_dim: 128, tie_word_embeddings: false };

describe('checkModelFits', () => {
  it('accepts the curated models on a GPU with 1 GiB buffers', () => {
    expect(() => checkModelFits(parseModelConfig(SMOLLM2_135M), true, limits(1024 * MiB))).not.toThrow();
    expect(() => checkModelFits(parseModelConfig(LLAMA32_1B), true, limits(1024 * MiB))).not.toThrow();
    expect(() => checkModelFits(parseModelConfig(QWEN3_06B), true, limits(1024 * MiB))).not.toThrow();
    // The curated list's Qwen3-0.6B size is its bf16 weights: the same bytes the f16 GPU copy takes.
    expect(weightBytes(parseModelConfig(QWEN3_06B), true)).toBeCloseTo(CURATED_MODELS.find((m) => m.id === 'Qwen/Qwen3-0.6B')!.bytes, -7);
    // Gemma 3 270M and 1B likewise, their four norms per layer and q/k norms counted (268,098,176 and 999,885,952).
    for (const [id, json] of [['google/gemma-3-270m-it', GEMMA3_270M], ['google/gemma-3-1b-it', GEMMA3_1B]] as const) {
      const cfg = parseModelConfig(json);
      expect(() => checkModelFits(cfg, true, limits(1024 * MiB)), id).not.toThrow();
      const listed = CURATED_MODELS.find((m) => m.id === id)!;
      expect(weightBytes(cfg, true), id).toBeCloseTo(listed.bytes, -7);
      expect(listed.note, id).toMatch(/^gated: accept the license/);
    }
    expect(weightBytes(parseModelConfig(GEMMA3_270M), true) / 2).toBe(268098176);
    expect(weightBytes(parseModelConfig(GEMMA3_1B), true) / 2).toBe(999885952);
  });

  it('refuses weights past the browser ceiling, saying how much they need', () => {
    expect(() => checkModelFits(parseModelConfig(LLAMA_8B), true, limits(1024 * MiB)))
      .toThrow(expect.objectContaining({ name: 'ModelTooLargeError', message: expect.stringMatching(/weights \(f16\) needs 1[45]\.\d\d GiB.*smaller model/) }));
  });

  it('refuses a model whose smallest training run does not fit a small adapter', () => {
    expect(() => checkModelFits(parseModelConfig(LLAMA32_1B), true, limits(128 * MiB)))
      .toThrow(expect.objectContaining({ name: 'ModelTooLargeError', message: expect.stringMatching(/Training this model .* besides its weights, but this GPU adapter allows about 0\.25 GiB/) }));
  });
});

describe('generatorSize', () => {
  it('gives fewer slots to long conversations and refuses when not one fits', () => {
    const cfg = parseModelConfig(SMOLLM2_135M);
    const short = generatorSize(cfg, limits(1024 * MiB), 1024);
    const long = generatorSize(cfg, limits(1024 * MiB), 8192);
    expect(short.slots).toBe(16);
    expect(long.slots).toBeLessThan(short.slots);
    expect(() => generatorSize(cfg, limits(4 * MiB), 8192)).toThrow(/too small/);
  });
});
