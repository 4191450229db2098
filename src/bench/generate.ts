// Generation throughput: prefill tokens/s, aggregate decode tokens/s by batch size (one weight read serves every
// sequence of a step, so batches should scale), and time to first token with a long prompt P uncached,
// prefix-cached, or absent.
import type { Kernels } from '../gpu/kernel';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { InferencePass, type Segment } from '../llama/infer';
import { KvCache } from '../llama/kv-cache';
import type { ModelFiles } from '../model/open';

const greedy = { temperature: 0, topK: 0, topP: 1, seed: 0, step: 0 };
const tokens = (n: number, seed: number, V: number) => Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % V);

export interface DecodeResult { model: string; batch: number; tokensPerSecond: number; msPerStep: number }
export interface GenerationBench { prefill: { model: string; T: number; tokensPerSecond: number }; decode: DecodeResult[]; kvCacheBytes: number }

export async function benchGeneration(kernels: Kernels, name: string, model: ModelFiles, batches: number[], steps: number, prefillT: number): Promise<GenerationBench> {
  const engine = await LlamaEngine.load(kernels, model);
  const V = model.config.vocabSize;
  const maxB = Math.max(...batches);
  const promptLen = 4;
  const cache = new KvCache(kernels.device, model.config, maxB, 0, Math.max(prefillT, promptLen + steps + 2));
  const pass = new InferencePass(engine, cache, Math.max(prefillT, maxB * promptLen), null);
  const none = () => null;
  try {
    // Prefill: one sequence of prefillT tokens in one pass (the second run, after pipelines are built).
    const prefillSeg: Segment = { tokens: tokens(prefillT, 1, V), slot: 0, startPos: 0, prefixSlot: 0, prefixLen: 0, sample: greedy };
    await pass.run([prefillSeg], none);
    let t0 = performance.now();
    await pass.run([prefillSeg], none);
    const prefill = { model: name, T: prefillT, tokensPerSecond: prefillT / ((performance.now() - t0) / 1000) };

    const decode: DecodeResult[] = [];
    for (const B of batches) {
      const segs = Array.from({ length: B }, (_, b): Segment => ({ tokens: tokens(promptLen, b + 2, V), slot: b, startPos: 0, prefixSlot: 0, prefixLen: 0, sample: greedy }));
      let last = await pass.run(segs, none);
      const step = async (i: number) => {
        last = await pass.run(segs.map((s, b) => ({ ...s, tokens: [last[b]], startPos: promptLen + i })), none);
      };
      await step(0); // warm-up
      t0 = performance.now();
      for (let i = 1; i <= steps; i++) await step(i);
      const seconds = (performance.now() - t0) / 1000;
      decode.push({ model: name, batch: B, tokensPerSecond: (B * steps) / seconds, msPerStep: (1000 * seconds) / steps });
    }
    return { prefill, decode, kvCacheBytes: cache.bytes };
  } finally {
    pass.destroy();
    cache.destroy();
    engine.destroy();
  }
}

export interface TtftResult { model: string; promptTokens: number; noPrompt: number; uncached: number; prefixCached: number }

/** Seconds to the first token of a 20-token input, with a P of `pLen` tokens in front (uncached, cached) or none. */
export async function benchTtft(kernels: Kernels, name: string, model: ModelFiles, pLen: number): Promise<TtftResult> {
  const engine = await LlamaEngine.load(kernels, model);
  const V = model.config.vocabSize;
  const P = tokens(pLen, 99, V);
  const gen = new Generator(engine, { slots: 1, prefixSlots: 1, slotLength: pLen + 64, maxTokensPerPass: 512 });
  const first = async (prompt: number[], prefix?: number[]) => {
    const t0 = performance.now();
    await gen.generate([{ prompt, prefix, maxNewTokens: 1, stopTokenIds: [] }]);
    return (performance.now() - t0) / 1000;
  };
  try {
    await first(tokens(20, 1, V)); // pipelines
    const noPrompt = await first(tokens(20, 2, V));
    const uncached = await first([...P, ...tokens(20, 3, V)]);
    await first(tokens(20, 4, V), P); // fills the prefix slot
    const prefixCached = await first(tokens(20, 5, V), P);
    return { model: name, promptTokens: pLen, noPrompt, uncached, prefixCached };
  } finally {
    gen.destroy();
    engine.destroy();
  }
}
