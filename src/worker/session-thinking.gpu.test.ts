// The app's thinking setting in the worker: a Qwen3 model (random weights, the real tokenizer) loads with thinking
// off or with the mode asked for, and setThinking changes it for the jobs after, the weights staying on the GPU.
import { afterAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { realVocabModel } from '../model/testing/real-tokenizers';
import { EngineSession } from './session';

let kernels: Kernels | undefined;
afterAll(() => kernels?.device.destroy());

// P with two example turns: Qwen3's own template gives only the last a thought block; thinking off gives both one.
const P = JSON.stringify([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' },
  { role: 'user', content: 'bye' }, { role: 'assistant', content: 'ok' }]);

const QWEN3 = {
  architectures: ['Qwen3ForCausalLM'], head_dim: 16, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,
  num_key_value_heads: 1, rms_norm_eps: 1e-6, rope_theta: 1000000, vocab_size: 151936, max_position_embeddings: 4096, tie_word_embeddings: true,
};

it('loads with thinking off unless asked, and setThinking changes every later job', async () => {
  kernels = await testKernels(true);
  const session = new EngineSession(kernels);
  const files = [...realVocabModel('qwen3', QWEN3)].map(([name, bytes]) => ({ path: `qwen3/${name}`, file: new File([bytes as BlobPart], name) }));
  const source = { kind: 'folder' as const, name: 'qwen3', files };
  const off = await session.loadModel(source);
  expect(off.tokenizer.thinking).toBe(false);
  expect(off.tokenizer.chatSample.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(true);
  const offTokens = (await session.inspectPrompt(P)).tokens;

  const on = await session.setThinking(true);
  expect(on.tokenizer.thinking).toBe(true);
  expect(on.tokenizer.chatSample.endsWith('<|im_start|>assistant\n')).toBe(true);
  expect(on.weightHash).toBe(off.weightHash);
  // Jobs after it render with the new mode: P's first example answer loses its empty thought.
  expect((await session.inspectPrompt(P)).tokens).toBeLessThan(offTokens);

  expect((await session.loadModel(source, undefined, { thinking: true })).tokenizer.thinking).toBe(true);
  session.unload();
}, 60_000);
