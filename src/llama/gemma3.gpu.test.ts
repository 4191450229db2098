// Gemma 3 on the GPU against the float64 reference: embeddings times √C, norms as 1 + w before and after both
// branches, per-head q/k norms, GeGLU, query_pre_attn_scalar's scale, and sliding layers (window 4, their own RoPE
// base) beside global ones. Logits, the loss, every LoRA gradient (f32 saved activations; bf16 file, f16 weights with
// recompute) and greedy decoding through the KV cache, with prompts and generations longer than the window so it
// is crossed in prefill and in decode. Each tensor's largest difference is printed.
import { describe, expect, it } from 'vitest';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { expectMatches } from '../gpu/testing';
import { packGroups } from '../train/batch';
import { LlamaEngine } from './engine';
import { InferencePass } from './infer';
import { KvCache } from './kv-cache';
import { expectEngineMatchesReference, expectGreedyMatchesReference, kernelsByPrecision } from '../testing/reference-check';
import { memoryFiles } from './testing';

const getKernels = kernelsByPrecision();

const CASES = [
  { name: 'gemma3 f32, saved activations', f16: false, recompute: false, seed: 1 },
  { name: 'gemma3 bf16 file, f16 weights, recompute', f16: true, recompute: true, seed: 2 },
];

describe.each(CASES)('$name', (c) => {
  it('logits, loss and every LoRA gradient match the float64 reference', async () => {
    const model = await openModel(memoryFiles(makeTinyModel({ arch: 'gemma3', seed: c.seed, dtype: c.f16 ? 'bf16' : 'f32' })));
    const cfg = model.config;
    expect(cfg.gemma?.sliding).toEqual([true, false]);
    expect(cfg.gemma?.queryPreAttnScalar).not.toBe(cfg.headDim);
    const groups = await expectEngineMatchesReference(await getKernels(c.f16), model, c);
    // The sequence whose logits were checked crosses the sliding window.
    expect(groups[0].sequences[0].input_ids.length).toBeGreaterThan(cfg.gemma!.slidingWindow);
  });
});

it("the KV cache's logits equal the reference's: a 7-token prefill, then 6 cached steps, all past the window", async () => {
  const kernels = await getKernels(false);
  const model = await openModel(memoryFiles(makeTinyModel({ arch: 'gemma3', seed: 7 })));
  const cfg = model.config;
  const engine = await LlamaEngine.load(kernels, model);
  const ref = await loadRefModel(model.weights, cfg, false);
  const cache = new KvCache(kernels.device, cfg, 1, 1, 16);
  const pass = new InferencePass(engine, cache, 16, null);
  const ids = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77, 11, 300, 64];
  const want = llama_forward(ref, null, packGroups([{ weight: 1, sequences: [{ input_ids: ids, labels: ids }] }])).logits;
  const V = cfg.vocabSize;
  const greedy = { temperature: 0, topK: 0, topP: 1, seed: 0, step: 0 };
  const seg = (tokens: number[], startPos: number) => ({ tokens, slot: 0, startPos, prefixSlot: 1, prefixLen: 0, sample: greedy });
  try {
    await pass.run([seg(ids.slice(0, 7), 0)], () => null);
    expectMatches('cached prefill logits at position 6', await pass.lastLogits(1), want.subarray(6 * V, 7 * V), { scaled: 1e-5 });
    for (let t = 7; t < ids.length; t++) {
      await pass.run([seg([ids[t]], t)], () => null);
      expectMatches(`cached decode logits at position ${t}`, await pass.lastLogits(1), want.subarray(t * V, (t + 1) * V), { scaled: 1e-5 });
    }
  } finally {
    pass.destroy();
    cache.destroy();
    engine.destroy();
  }
});

// An 11-token prompt and 10 new tokens: a window of 4 is crossed in prefill and again at every decode step.
it('greedy decoding through the KV cache equals the reference argmax at every step, past the window', async () => {
  await expectGreedyMatchesReference(await getKernels(false), memoryFiles(makeTinyModel({ arch: 'gemma3', seed: 4 })), 'gemma3');
});
