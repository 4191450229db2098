// Random-weight models with Llama 3's, Qwen3's and Gemma 3's real vocabularies, tokenizers and attention shapes
// (heads, kv heads, head_dim), two layers each: they load, generate a few tokens from the real chat template, and run one
// training step with recompute on a sequence the real template built, with the planned memory equal to the allocated.
// The hidden and feed-forward widths are narrowed to 32 and 64: the matmul's 64-row tiles make every pass over a
// 151,936 x 1,024 head about 20 GFLOP even for one token, some 25 s each on the software Vulkan the tests run on; the
// full shapes are the bench's (npm run bench loads a Llama-3.2-1B-shaped model). Gemma 3 takes about 10 s here (the
// others 6-7 s): its 33 MB tokenizer.json parses in 2-3 s, the rest is its own pipelines (GeGLU, head_dim 256) and head;
// a head_dim of 64 instead of 256 saved nothing measurable. Each tokenizer is loaded once, by its one case.
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { openModel } from '../model/open';
import { GEMMA3_270M } from '../model/testing/gemma3-configs';
import { realVocabModel, type RealFamily } from '../model/testing/real-tokenizers';
import { loadTokenizer } from '../model/tokenizer';
import { packGroups } from '../train/batch';
import { buildTrainingGroups, DEFAULT_JOINT_LOSS } from '../train/sequences';
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
    name: 'Llama 3, 128,256-token vocabulary, Llama-3.2-1B attention (32 x 64, 8 kv heads)',
    family: 'llama3',
    config: {
      architectures: ['LlamaForCausalLM'], hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 32,
      num_key_value_heads: 8, head_dim: 64, rms_norm_eps: 1e-5, rope_theta: 500000, vocab_size: 128256, max_position_embeddings: 131072,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], torch_dtype: 'bfloat16',
    },
  },
  {
    name: 'Qwen3, 151,936-token vocabulary, Qwen3-0.6B attention (16 x 128, 8 kv heads)',
    family: 'qwen3',
    config: {
      architectures: ['Qwen3ForCausalLM'], attention_bias: false, head_dim: 128, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 16, num_key_value_heads: 8, rms_norm_eps: 1e-6, rope_theta: 1000000,
      vocab_size: 151936, max_position_embeddings: 40960, tie_word_embeddings: true, bos_token_id: 151643, eos_token_id: 151645,
      torch_dtype: 'bfloat16', use_sliding_window: false,
    },
  },
  {
    // Gemma-3-270M's own config, narrowed: one sliding layer (window 16, crossed by the training sequence) and one global.
    name: 'Gemma 3, 262,144-token vocabulary, Gemma-3-270M attention (4 x 256, 1 kv head)',
    family: 'gemma3',
    config: {
      ...GEMMA3_270M, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, layer_types: ['sliding_attention', 'full_attention'],
      sliding_window: 16,
    },
  },
];

const record = {
  id: 'r1', input: 'list the files', as_is: 'I cannot see your files.', to_be: 'Act: bash ls', reason: 'The prompt makes it a shell agent.',
  conversation: [{ role: 'user', content: 'list the files' }, { role: 'assistant', content: 'Act: bash ls' }],
};
const prompt = { text: 'You are a shell agent.', messages: [{ role: 'system', content: 'You are a shell agent.' }] };

describe.each(CASES)('$name', (c) => {
  it('loads, generates, and trains one step with recompute; planned memory equals allocated', async () => {
    const k = await (kernels ??= testKernels(true));
    const files = memoryFiles(realVocabModel(c.family, c.config));
    const model = await openModel(files);
    const tok = await loadTokenizer(files);
    const t0 = performance.now();
    const engine = await LlamaEngine.load(k, model);
    const loadSeconds = (performance.now() - t0) / 1000;
    const V = engine.cfg.vocabSize;
    try {
      const g = new Generator(engine, { tokenizer: tok, slots: 1, slotLength: 64 });
      const ids = tok.applyChatTemplate([{ role: 'user', content: 'List the files.' }], { addGenerationPrompt: true }).ids;
      const [r] = await g.generate([{ prompt: ids, maxNewTokens: 3, stopTokenIds: [] }]).finally(() => g.destroy());
      expect(r.tokens).toHaveLength(3);
      expect(r.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < V)).toBe(true);

      // SFT only: one short sequence keeps the step to one 64-token tile (the PG template is checked in real-templates.test.ts).
      const set = buildTrainingGroups(tok, [record], prompt, { ...DEFAULT_JOINT_LOSS, variant: 'sft_only' }, new Rng(1));
      const batch = packGroups(set.groups);
      const window = c.config.sliding_window;
      if (typeof window === 'number') expect(batch.T).toBeGreaterThan(window); // Gemma's sliding layer drops keys
      const layout = loraLayout(engine.cfg, { rank: 8, alpha: 16, dropout: 0, targets: [...LORA_TARGETS] });
      const trainer = new LoraTrainer(engine, layout, { maxT: batch.T, groups: set.groups.length, recompute: true, vocabChunk: 16384 });
      try {
        const init = initLora(layout, 1);
        trainer.setParams(init);
        trainer.zeroGrads();
        await trainer.forwardBackward(batch, { first: true });
        const [loss] = await trainer.readLoss();
        await trainer.update({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 });
        const after = await trainer.readParams();
        const planned = trainer.plan.total;
        const allocated = trainer.allocatedBytes + engine.weights.bytes;
        console.log(`${c.name}: loaded in ${loadSeconds.toFixed(1)} s; generated ${JSON.stringify(tok.decode(r.tokens))}; ` +
          `${batch.T} training tokens, loss ${loss.toFixed(3)} (ln V = ${Math.log(V).toFixed(3)}); planned ${(planned / 2 ** 20).toFixed(1)} MiB, allocated ${(allocated / 2 ** 20).toFixed(1)} MiB`);
        // Near-zero random weights give near-uniform logits: the SFT loss is its weight times about ln V.
        expect(Math.abs(loss - DEFAULT_JOINT_LOSS.sftWeight * Math.log(V))).toBeLessThan(0.5);
        expect(after.some((x, i) => x !== init[i])).toBe(true);
        expect(trainer.plan.recompute).toBe(true);
        expect(Math.abs(planned - allocated) / planned).toBeLessThan(0.01);
      } finally {
        trainer.destroy();
      }
    } finally {
      engine.destroy();
    }
  }, 120_000);
});
