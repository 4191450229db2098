// Our engine against the GGUF export of the same weights and adapter, run by llama.cpp itself (node-llama-cpp's
// prebuilt CPU binary): logits for a prompt (f32 within 1e-3 of the logits' scale; f16 and q8_0 reported, with a
// loose bound), llama.cpp's tokenizer on the chat template's text, greedy decoding of 16 tokens from the chat
// prompt, and the LoRA-only file on the f32 base export giving what the merged export gives.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { memoryFiles } from '../llama/testing';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer } from '../model/tokenizer';
import { exportGgufLora } from './gguf';
import { EXPORT_CASES, exportGguf, llamaCppGreedy, llamaCppLogits, loadGguf, maxAbsDiff, randomAdapter, relDiff, tinyGemmaForLlamaCpp } from './testing';

const IDS = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77];
const MESSAGES = [{ role: 'user', content: 'the model writes' }];
const CASES = [
  ...EXPORT_CASES.map((c) => ({ name: c.name, adapter: c.adapter, files: () => makeTinyModel(c.tiny) })),
  { name: 'gemma3 tied, sliding window', adapter: false, files: () => tinyGemmaForLlamaCpp(6) },
  { name: 'gemma3 tied, sliding window + adapter', adapter: true, files: () => tinyGemmaForLlamaCpp(6) },
];

let kernels: Kernels;
let root = '';
beforeAll(async () => {
  kernels = await testKernels(false);
  root = await mkdtemp(join(tmpdir(), 'genpi-gguf-oracle-'));
});
afterAll(async () => {
  kernels.device.destroy();
  await rm(root, { recursive: true, force: true });
});

describe.each(CASES)('$name', { timeout: 300_000 }, (c) => {
  it(`llama.cpp's logits and greedy chat reply match our engine's${c.adapter ? ', merged and as a LoRA-only file' : '; f16 and q8_0 reported'}`, async () => {
    const files = c.files();
    const model = await openModel(memoryFiles(files));
    const V = model.config.vocabSize;
    const adapter = c.adapter ? randomAdapter(model.config, 11) : null;
    const engine = await LlamaEngine.load(kernels, model);
    const ours = await engine.logits(IDS, adapter);
    const f32 = await loadGguf(await exportGguf(model, adapter, { type: 'f32', name: c.name }));
    try {
      const theirs = await llamaCppLogits(f32.model, IDS, V);
      const rel = relDiff(theirs, ours);
      console.log(`${c.name}: f32 max |engine - llama.cpp| ${maxAbsDiff(theirs, ours).toExponential(2)} (${rel.toExponential(2)} of the logits' scale)`);
      expect(rel).toBeLessThan(1e-3);

      // The chat template travels in the file, and llama.cpp's tokenizer reads its text as ours does.
      const tok = await loadTokenizer(memoryFiles(files));
      const config = JSON.parse(new TextDecoder().decode(files.get('tokenizer_config.json')!));
      expect(f32.model.fileInfo.metadata.tokenizer?.chat_template).toBe(config.chat_template);
      const chat = tok.applyChatTemplate(MESSAGES, { addGenerationPrompt: true });
      expect(f32.model.tokenize(chat.text, true)).toEqual(chat.ids);
      expect(f32.model.detokenize(chat.ids as Token[], true)).toBe(chat.text);

      const generator = new Generator(engine, { tokenizer: tok, slots: 1, prefixSlots: 1, slotLength: 128 });
      if (adapter) generator.addAdapter('a', adapter);
      const [r] = await generator.generate([{ prompt: chat.ids, adapter: adapter ? 'a' : null, maxNewTokens: 16, temperature: 0 }]);
      generator.destroy();
      const greedy = await llamaCppGreedy(f32.model, chat.ids, 16);
      console.log(`${c.name}: llama.cpp ${greedy.join(',')} | ours ${r.tokens.join(',')}`);
      expect(greedy).toEqual(r.tokens);
      expect(greedy.length).toBeGreaterThan(4);

      if (adapter) {
        const base = await loadGguf(await exportGguf(model, null, { type: 'f32', name: c.name }));
        const lora = join(root, `${c.name.replace(/\W+/g, '-')}.lora.gguf`);
        await writeFile(lora, Buffer.concat(exportGgufLora(model.config, adapter, c.name)));
        try {
          const viaLora = await llamaCppLogits(base.model, IDS, V, lora);
          console.log(`${c.name}: LoRA-only on the base, max |engine - llama.cpp| ${maxAbsDiff(viaLora, ours).toExponential(2)}`);
          expect(relDiff(viaLora, ours)).toBeLessThan(1e-3);
          expect(await llamaCppGreedy(base.model, chat.ids, 16, lora)).toEqual(greedy);
        } finally {
          await base.done();
        }
      }
    } finally {
      await f32.done();
    }

    // The quantized files once per model (the adapter's merge changes nothing about rounding).
    for (const type of adapter ? [] : (['f16', 'q8_0'] as const)) {
      const q = await loadGguf(await exportGguf(model, adapter, { type, name: c.name }));
      const rel = relDiff(await llamaCppLogits(q.model, IDS, V), ours);
      await q.done();
      console.log(`${c.name}: ${type} ${rel.toExponential(2)} of the logits' scale from the engine's f32`);
      expect(rel).toBeLessThan(type === 'f16' ? 1e-2 : 5e-2);
    }
    engine.destroy();
  });
});
