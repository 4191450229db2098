// Random-weight models with Llama 3's, Qwen3's and Gemma 3's real vocabularies, tokenizers and widths, two layers
// each: at the family's real hidden, feed-forward and attention widths (Llama-3.2-1B 2048/8192, Qwen3-0.6B 1024/3072,
// Gemma-3-270M 640/2048) the model loads, generates a few tokens from the real chat template, and runs one training
// step with recompute on a sequence the real template built, with the planned memory equal to the allocated.
// Two things keep a full-width step within this file's time on a 2-core software adapter: short sequences take the
// few-row kernels (matmul_forward_rows up to 24 rows, matmul_backward_rows up to 32), and the loss head runs only on
// the tokens that carry loss (head.ts). Llama's step took 83 s with the 128,256 x 2,048 head over all 18 rows, and
// about 30 s with it over the assistant's few. Full shapes are the bench's (npm run bench loads a
// Llama-3.2-1B-shaped model). Each tokenizer is loaded once, by its one case.
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { openModel } from '../model/open';
import { GEMMA3_270M, LLAMA32_1B, QWEN3_06B } from '../testing/model-configs';
import { realTokenizerFiles, realVocabModel, type RealFamily } from '../model/testing/real-tokenizers';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { packGroups } from '../train/batch';
import { buildTrainingGroups } from '../train/sequences';
import { DEFAULT_LOSS } from '../train/variants';
import { Rng } from '../util/rng';
import { LlamaEngine } from './engine';
import { Generator } from './generator';
import { initLora, loraLayout, LORA_TARGETS } from './lora';
import { memoryFiles } from './testing';
import { LoraTrainer } from './trainer';

let kernels: Promise<Kernels> | undefined;
afterAll(async () => (await kernels)?.device.destroy());

const CASES: { name: string; family: RealFamily; config: Record<string, unknown> }[] = [
  {
    name: 'Llama 3, 128,256-token vocabulary, Llama-3.2-1B widths (2048, 8192; 32 x 64, 8 kv heads)',
    family: 'llama3',
    config: { ...LLAMA32_1B, num_hidden_layers: 2 },
  },
  {
    name: 'Qwen3, 151,936-token vocabulary, Qwen3-0.6B widths (1024, 3072; 16 x 128, 8 kv heads)',
    family: 'qwen3',
    config: { ...QWEN3_06B, num_hidden_layers: 2 },
  },
  {
    // Gemma-3-270M's own config, two layers: one sliding (window 16, crossed by the training sequence), one global.
    name: 'Gemma 3, 262,144-token vocabulary, Gemma-3-270M widths (640, 2048; 4 x 256, 1 kv head)',
    family: 'gemma3',
    config: { ...GEMMA3_270M, num_hidden_layers: 2, layer_types: ['sliding_attention', 'full_attention'], sliding_window: 16 },
  },
];

const record = {
  id: 'r1', input: 'list the files', as_is: 'I cannot see your files.', to_be: 'Act: bash ls', reason: 'The prompt makes it a shell agent.',
  conversation: [{ role: 'user', content: 'list the files' }, { role: 'assistant', content: 'Act: bash ls' }],
};
const prompt = { text: 'You are a shell agent.', messages: [{ role: 'system', content: 'You are a shell agent.' }] };

/** Greedily generates 3 tokens after `ids` and checks they are tokens of the vocabulary. */
async function generateThree(engine: LlamaEngine, c: (typeof CASES)[number], tok: Tokenizer, ids: number[]): Promise<void> {
  const V = engine.cfg.vocabSize;
  const t0 = performance.now();
  const g = new Generator(engine, { tokenizer: tok, slots: 1, slotLength: 64 });
  const [r] = await g.generate([{ prompt: ids, maxNewTokens: 3, stopTokenIds: [] }]).finally(() => g.destroy());
  const genSeconds = (performance.now() - t0) / 1000;
  expect(r.tokens).toHaveLength(3);
  expect(r.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < V)).toBe(true);
  console.log(`${c.name}: ${ids.length}-token prompt and 3 tokens in ${genSeconds.toFixed(1)} s: ${JSON.stringify(tok.decode(r.tokens))}`);
}

describe.each(CASES)('$name', (c) => {
  it('loads at full width, generates, and trains one step with recompute, planned memory equal to allocated', async () => {
    const k = await (kernels ??= testKernels(true));
    const tok = await loadTokenizer(realTokenizerFiles(c.family));
    const ids = tok.applyChatTemplate([{ role: 'user', content: 'List the files.' }], { addGenerationPrompt: true }).ids;

    const load0 = performance.now();
    const engine = await LlamaEngine.load(k, await openModel(memoryFiles(realVocabModel(c.family, c.config))));
    console.log(`${c.name}: loaded in ${((performance.now() - load0) / 1000).toFixed(1)} s`);
    const V = engine.cfg.vocabSize;
    try {
      await generateThree(engine, c, tok, ids);
      // SFT only: one short sequence keeps the step to one 64-token tile (the PG template is checked in real-templates.test.ts).
      const set = buildTrainingGroups(tok, [record], prompt, { ...DEFAULT_LOSS, variant: 'sft_only' }, new Rng(1));
      const batch = packGroups(set.groups);
      const window = c.config.sliding_window;
      if (typeof window === 'number') expect(batch.T).toBeGreaterThan(window); // Gemma's sliding layer drops keys
      const layout = loraLayout(engine.cfg, { rank: 8, alpha: 16, dropout: 0, targets: [...LORA_TARGETS] });
      const trainer = new LoraTrainer(engine, layout, { maxT: batch.T, groups: set.groups.length, recompute: true, vocabChunk: 16384 });
      try {
        const init = initLora(layout, 1);
        trainer.setParams(init);
        trainer.zeroGrads();
        const t0 = performance.now();
        await trainer.forwardBackward(batch, { first: true });
        const [loss] = await trainer.readLoss();
        await trainer.update({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 });
        const after = await trainer.readParams();
        const stepSeconds = (performance.now() - t0) / 1000;
        const planned = trainer.plan.total;
        const allocated = trainer.allocatedBytes + engine.weights.bytes;
        console.log(`${c.name}: trained on ${batch.T} tokens in ${stepSeconds.toFixed(1)} s, ` +
          `loss ${loss.toFixed(3)} (ln V = ${Math.log(V).toFixed(3)}); planned ${(planned / 2 ** 20).toFixed(1)} MiB, allocated ${(allocated / 2 ** 20).toFixed(1)} MiB`);
        // Near-zero random weights give near-uniform logits: the SFT loss is its weight times about ln V.
        expect(Math.abs(loss - DEFAULT_LOSS.sftWeight * Math.log(V))).toBeLessThan(0.5);
        expect(after.some((x, i) => x !== init[i])).toBe(true);
        expect(trainer.plan.recompute).toBe(true);
        expect(Math.abs(planned - allocated) / planned).toBeLessThan(0.01);
      } finally {
        trainer.destroy();
      }
    } finally {
      engine.destroy();
    }
  }, 240_000);
});
