// Gemma 3 on the GPU against the float64 reference: embeddings times √C, norms as 1 + w before and after both
// branches, per-head q/k norms, GeGLU, query_pre_attn_scalar's scale, and sliding layers (window 4, their own RoPE
// base) beside global ones. Logits, the loss, every LoRA gradient (f32 saved activations; bf16 file, f16 weights with
// recompute) and greedy decoding through the KV cache, with prompts and generations longer than the window so it
// is crossed in prefill and in decode. Each tensor's largest difference is printed.
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { expectMatches, testKernels } from '../gpu/testing';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer } from '../model/tokenizer';
import { Rng } from '../util/rng';
import { llama_backward, llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups } from '../train/batch';
import { memoryFiles, testGroups } from './testing';
import { LlamaEngine } from './engine';
import { Generator } from './generator';
import { InferencePass } from './infer';
import { KvCache } from './kv-cache';
import { loraLayout } from './lora';
import { LoraTrainer } from './trainer';

const byF16 = new Map<boolean, Promise<Kernels>>();
const getKernels = (f16: boolean) => {
  if (!byF16.has(f16)) byF16.set(f16, testKernels(f16));
  return byF16.get(f16)!;
};
afterAll(async () => {
  for (const k of byF16.values()) (await k).device.destroy();
});

const ALL = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;

const CASES = [
  { name: 'gemma3 f32, saved activations', f16: false, recompute: false, seed: 1 },
  { name: 'gemma3 bf16 file, f16 weights, recompute', f16: true, recompute: true, seed: 2 },
];

describe.each(CASES)('$name', (c) => {
  it('logits, loss and every LoRA gradient match the float64 reference', async () => {
    const kernels = await getKernels(c.f16);
    const model = await openModel(memoryFiles(makeTinyModel({ arch: 'gemma3', seed: c.seed, dtype: c.f16 ? 'bf16' : 'f32' })));
    const cfg = model.config;
    expect(cfg.gemma?.sliding).toEqual([true, false]);
    expect(cfg.gemma?.queryPreAttnScalar).not.toBe(cfg.headDim);
    const engine = await LlamaEngine.load(kernels, model);
    const ref = await loadRefModel(model.weights, cfg, c.f16);
    const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: [...ALL] });
    const rng = new Rng(11);
    const params = Float32Array.from({ length: layout.size }, () => 0.2 * rng.normal());
    const groups = testGroups(cfg.vocabSize, 5);
    const batch = packGroups(groups);
    const check = (name: string, gpu: ArrayLike<number>, want: ArrayLike<number>, tol: number) => expectMatches(name, gpu, want, { scaled: tol });
    console.log(c.name);

    const seq = groups[0].sequences[0].input_ids;
    expect(seq.length).toBeGreaterThan(cfg.gemma!.slidingWindow);
    const single = llama_forward(ref, { layout, params }, packGroups([{ weight: 1, sequences: [{ input_ids: seq, labels: seq }] }]));
    check('logits', await engine.logits(seq, { layout, params, baseModel: 'tiny' }), single.logits, 1e-5);

    const trainer = new LoraTrainer(engine, layout, { maxT: batch.T, vocabChunk: 128, groups: 2, recompute: c.recompute });
    trainer.setParams(params);
    trainer.zeroGrads();
    await trainer.forwardBackward(batch, { first: true });
    const fwd = llama_forward(ref, { layout, params }, batch);
    check('loss', [(await trainer.readLoss())[0]], [fwd.loss], 1e-5);
    const grads = await trainer.readGrads();
    const want = llama_backward(ref, { layout, params }, batch, fwd);
    const R = layout.spec.rank;
    for (const s of layout.slots) {
      check(`grad ${s.layer}.${s.target}.A`, grads.subarray(s.aOffset, s.aOffset + R * s.K), want.subarray(s.aOffset, s.aOffset + R * s.K), 1e-4);
      check(`grad ${s.layer}.${s.target}.B`, grads.subarray(s.bOffset, s.bOffset + s.N * R), want.subarray(s.bOffset, s.bOffset + s.N * R), 1e-4);
    }
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-4);
    // Planned memory is allocated memory, Gemma's extra norm activations and seqStartLocal counted.
    expect(Math.abs(trainer.plan.total - (trainer.allocatedBytes + engine.weights.bytes)) / trainer.plan.total).toBeLessThan(0.01);
    trainer.destroy();
    engine.destroy();
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

it('greedy decoding through the KV cache equals the reference argmax at every step, past the window', async () => {
  const kernels = await getKernels(false);
  const files = memoryFiles(makeTinyModel({ arch: 'gemma3', seed: 4 }));
  const model = await openModel(files);
  const engine = await LlamaEngine.load(kernels, model);
  const ref = await loadRefModel(model.weights, model.config, false);
  const layout = loraLayout(model.config, { rank: 4, alpha: 8, dropout: 0, targets: [...ALL] });
  const rng = new Rng(3);
  const params = Float32Array.from({ length: layout.size }, () => 0.3 * rng.normal());
  const g = new Generator(engine, { tokenizer: await loadTokenizer(files) });
  g.addAdapter('student', { layout, params, baseModel: 'tiny' });
  // An 11-token prompt and 10 new tokens: a window of 4 is crossed in prefill and again at every decode step.
  const prompt = Array.from({ length: 11 }, () => 3 + Math.floor(rng.next() * 380));
  try {
    for (const adapter of [null, 'student']) {
      const [r] = await g.generate([{ prompt, maxNewTokens: 10, stopTokenIds: [], adapter }]);
      const seq = [...prompt, ...r.tokens];
      const logits = llama_forward(ref, adapter ? { layout, params } : null, packGroups([{ weight: 1, sequences: [{ input_ids: seq, labels: seq }] }])).logits;
      const V = model.config.vocabSize;
      let checked = 0;
      let worstMargin = Infinity;
      r.tokens.forEach((tok, i) => {
        const row = logits.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
        const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
        if (row[order[0]] - row[order[1]] < 1e-4) return; // an exact tie either way is fine
        expect(tok, `step ${i}`).toBe(order[0]);
        worstMargin = Math.min(worstMargin, row[order[0]] - row[order[1]]);
        checked++;
      });
      console.log(`gemma3 greedy ${adapter ?? 'base'}: ${checked} of ${r.tokens.length} decoded tokens are the reference's argmax (smallest margin ${worstMargin.toFixed(4)})`);
      expect(checked).toBeGreaterThanOrEqual(8);
    }
  } finally {
    g.destroy();
    engine.destroy();
  }
});
