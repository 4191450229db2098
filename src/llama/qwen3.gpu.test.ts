// Qwen3 on the GPU against the float64 reference: the per-head q/k norm before RoPE, no biases and a head_dim that
// makes q wider than the hidden size. Logits, the loss, every LoRA gradient (saved activations and recompute, f32
// and f16 weights) and greedy decoding through the KV cache (src/testing/reference-check.ts).
import { describe, expect, it } from 'vitest';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { expectEngineMatchesReference, expectGreedyMatchesReference, kernelsByPrecision } from '../testing/reference-check';
import { memoryFiles } from './testing';

const getKernels = kernelsByPrecision();

const CASES = [
  { name: 'qwen3 f32, saved activations', f16: false, recompute: false, seed: 1 },
  { name: 'qwen3 bf16 file, f16 weights, recompute, MQA', f16: true, recompute: true, seed: 2, numKvHeads: 1 },
];

describe.each(CASES)('$name', (c) => {
  it('logits, loss and every LoRA gradient match the float64 reference', async () => {
    const model = await openModel(memoryFiles(makeTinyModel({ arch: 'qwen3', seed: c.seed, dtype: c.f16 ? 'bf16' : 'f32', numKvHeads: c.numKvHeads })));
    expect(model.config.qkNorm).toBe(true);
    expect(model.config.numHeads * model.config.headDim).not.toBe(model.config.hiddenSize);
    await expectEngineMatchesReference(await getKernels(c.f16), model, c);
  });
});

it('greedy decoding through the KV cache equals the reference argmax at every step', async () => {
  await expectGreedyMatchesReference(await getKernels(false), memoryFiles(makeTinyModel({ arch: 'qwen3', seed: 4 })), 'qwen3');
});
