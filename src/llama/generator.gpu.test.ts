// Generation on the GPU against the float64 reference and against itself: greedy tokens are the reference's argmax
// at every step; batched, continuously batched, prefix-cached and per-request-adapter runs equal one-at-a-time
// runs; seeded sampling repeats; stop strings, streaming and cancellation; refusals before any work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { openModel, type ModelFiles } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { Rng } from '../util/rng';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { llama_forward, type RefModel } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups } from '../train/batch';
import { LlamaEngine } from './engine';
import { memoryFiles } from './testing';
import { Generator, type GenRequest } from './generator';
import { loraLayout } from './lora';
import type { LoraAdapter } from './peft';

let kernels: Kernels;
let model: ModelFiles;
let engine: LlamaEngine;
let ref: RefModel;
let tokenizer: Tokenizer;
let adapter: LoraAdapter;

beforeAll(async () => {
  kernels = await testKernels(false);
  const files = memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 8 }));
  model = await openModel(files);
  tokenizer = await loadTokenizer(files);
  engine = await LlamaEngine.load(kernels, model);
  ref = await loadRefModel(model.weights, model.config, false);
  const layout = loraLayout(model.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
  const rng = new Rng(3);
  adapter = { layout, params: Float32Array.from({ length: layout.size }, () => 0.3 * rng.normal()), baseModel: 'tiny' };
});
afterAll(() => {
  engine?.destroy();
  kernels?.device.destroy();
});

const prompt = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 3 + Math.floor(rng.next() * 380));
};
const greedy = (p: number[], extra: Partial<GenRequest> = {}): GenRequest => ({ prompt: p, maxNewTokens: 10, stopTokenIds: [], ...extra });

async function run(reqs: GenRequest[], opts: ConstructorParameters<typeof Generator>[1] = {}, withAdapter = false) {
  const g = new Generator(engine, { tokenizer, ...opts });
  if (withAdapter) g.addAdapter('student', adapter);
  try {
    return await g.generate(reqs);
  } finally {
    g.destroy();
  }
}

describe('greedy decoding equals the float64 reference argmax at every step', () => {
  for (const withAdapter of [false, true]) {
    it(withAdapter ? 'with an adapter' : 'base model', async () => {
      const p = prompt(13, 1);
      const [r] = await run([greedy(p, { maxNewTokens: 12, adapter: withAdapter ? 'student' : null })], {}, withAdapter);
      expect(r.tokens).toHaveLength(12);
      const seq = [...p, ...r.tokens];
      const logits = llama_forward(ref, withAdapter ? { layout: adapter.layout, params: adapter.params } : null,
        packGroups([{ weight: 1, sequences: [{ input_ids: seq, labels: seq }] }])).logits;
      const V = model.config.vocabSize;
      let checked = 0;
      r.tokens.forEach((tok, i) => {
        const row = logits.subarray((p.length - 1 + i) * V, (p.length + i) * V);
        const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
        if (row[order[0]] - row[order[1]] < 1e-4) return; // an exact tie either way is fine
        expect(tok, `step ${i}`).toBe(order[0]);
        checked++;
      });
      expect(checked).toBeGreaterThanOrEqual(10);
    });
  }
});

describe('batching changes nothing', () => {
  const prompts = [prompt(5, 2), prompt(17, 3), prompt(1, 4), prompt(30, 5), prompt(9, 6)];

  it('batched and continuously batched (5 requests through 3 slots) equal one at a time; chunked prefill too', async () => {
    const alone = [];
    for (const p of prompts) alone.push((await run([greedy(p)], { slots: 1 }))[0].tokens);
    const together = await run(prompts.map((p) => greedy(p)), { slots: 8 });
    const through3 = await run(prompts.map((p) => greedy(p)), { slots: 3, maxTokensPerPass: 16 });
    expect(together.map((r) => r.tokens)).toEqual(alone);
    expect(through3.map((r) => r.tokens)).toEqual(alone);
  });

  it('a cached shared prefix equals the same tokens prefilled in full', async () => {
    const P = prompt(40, 9);
    const inputs = [prompt(6, 10), prompt(11, 11), prompt(3, 12)];
    const cached = await run(inputs.map((p) => greedy(p, { prefix: P })), { slots: 3 });
    const full = await run(inputs.map((p) => greedy([...P, ...p])), { slots: 3 });
    expect(cached.map((r) => r.tokens)).toEqual(full.map((r) => r.tokens));
  });

  it('base and adapter requests in one batch equal their own runs, and differ from each other', async () => {
    const p = prompt(12, 13);
    const mixed = await run([greedy(p), greedy(p, { adapter: 'student' }), greedy(p, { adapter: 'student', prefix: prompt(7, 14) })], {}, true);
    const base = await run([greedy(p)]);
    const student = await run([greedy(p, { adapter: 'student' })], {}, true);
    expect(mixed[0].tokens).toEqual(base[0].tokens);
    expect(mixed[1].tokens).toEqual(student[0].tokens);
    expect(student[0].tokens).not.toEqual(base[0].tokens);
  });
});

describe('sampling, stopping, streaming', () => {
  it('a seeded sampled run repeats exactly, and another seed differs', async () => {
    const req = (seed: number) => ({ prompt: prompt(8, 20), maxNewTokens: 16, temperature: 1, topP: 0.95, seed, stopTokenIds: [] });
    const a = await run([req(5), req(6)]);
    const b = await run([req(5), req(6)]);
    expect(a[0].tokens).toEqual(b[0].tokens);
    expect(a[1].tokens).toEqual(b[1].tokens);
    expect(a[0].tokens).not.toEqual(a[1].tokens);
    // The draw depends on the request's seed and step, not on its row in the batch.
    expect((await run([req(6)]))[0].tokens).toEqual(a[1].tokens);
  });

  it('min-p reaches the kernel: at 1 a sampled run keeps only the top token, as greedy does', async () => {
    const req = (o: { temperature: number; minP?: number }, seed = 3) => ({ prompt: prompt(8, 20), maxNewTokens: 12, seed, stopTokenIds: [], ...o });
    const [greedy, pinned, other, free] = await run([req({ temperature: 0 }), req({ temperature: 1, minP: 1 }), req({ temperature: 1, minP: 1 }, 9), req({ temperature: 1 })]);
    expect(pinned.tokens).toEqual(greedy.tokens);
    expect(other.tokens).toEqual(greedy.tokens);
    expect(free.tokens).not.toEqual(greedy.tokens); // without it, temperature 1 strays from the argmax
  });

  it('stops at a stop string, streams exactly the final text, and stops at a stop token', async () => {
    const p = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }).ids;
    const [free] = await run([greedy(p, { maxNewTokens: 24 })]);
    expect(free.text.length).toBeGreaterThan(6);
    const stop = free.text.slice(4, 7);
    const chunks: string[] = [];
    const [stopped] = await run([greedy(p, { maxNewTokens: 24, stopStrings: [stop], onToken: (_t, text) => chunks.push(text) })]);
    expect(stopped.finishReason).toBe('stop_string');
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expect(chunks.join('')).toBe(stopped.text);
    const stopToken = free.tokens[5];
    const [byToken] = await run([greedy(p, { maxNewTokens: 24, stopTokenIds: [stopToken] })]);
    expect(byToken.finishReason).toBe('stop_token');
    expect(byToken.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopToken) + 1));
  });

  it('frees the slot of a request that finishes in its prefill (one new token), call after call', async () => {
    const g = new Generator(engine, { slots: 1, prefixSlots: 1 });
    const one = (seed: number, prefix?: number[]) => ({ prompt: prompt(6, seed), prefix, maxNewTokens: 1, stopTokenIds: [] });
    for (let i = 0; i < 3; i++) expect((await g.generate([one(i)]))[0].tokens).toHaveLength(1);
    const three = await g.generate([one(5, prompt(9, 1)), one(6, prompt(9, 1)), one(7)]);
    expect(three.map((r) => r.finishReason)).toEqual(['length', 'length', 'length']);
    expect(g.cache.freeSlots).toBe(1);
    g.destroy();
  });

  it('cancels a request mid-stream and frees its slot for the next one', async () => {
    const ctl = new AbortController();
    let n = 0;
    const reqs = [
      greedy(prompt(5, 30), { maxNewTokens: 50, signal: ctl.signal, onToken: () => ++n === 3 && ctl.abort() }),
      greedy(prompt(6, 31), { maxNewTokens: 5 }),
    ];
    const [cancelled, next] = await run(reqs, { slots: 1 });
    expect(cancelled.finishReason).toBe('cancelled');
    expect(cancelled.tokens.length).toBe(3);
    expect(next.finishReason).toBe('length');
    expect(next.tokens).toHaveLength(5);
  });
});

describe('refused before any work', () => {
  it('a prompt longer than the context, or than a cache slot', async () => {
    const g = new Generator(engine, { slotLength: 64 });
    await expect(g.generate([greedy(prompt(2048, 1))])).rejects.toThrow(/context is 2048, which leaves no room/);
    await expect(g.generate([greedy(prompt(100, 1))])).rejects.toThrow(/does not fit a cache slot of 64 tokens, .*; use a shorter input or prompt$/);
    g.destroy();
  });

  it('an adapter made for another model, and an unknown adapter', async () => {
    const other = await openModel(memoryFiles(makeTinyModel({ arch: 'qwen2', hiddenSize: 32, numHeads: 2, numKvHeads: 1 })));
    const l = loraLayout(other.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q'] });
    const g = new Generator(engine);
    expect(() => g.addAdapter('wrong', { layout: l, params: new Float32Array(l.size), baseModel: 'other' })).toThrow(/made for another model/);
    await expect(g.generate([greedy(prompt(4, 1), { adapter: 'nope' })])).rejects.toThrow(/no adapter named "nope"/);
    g.destroy();
  });
});
