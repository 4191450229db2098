// The Modelfile the app hands out after a GGUF download, followed as written with llama.cpp itself (node-llama-cpp's
// CPU binary): the files it names are written where it says, from the worker's own job body (writeGguf) for the
// app's file and from the CLI's writer for the base GGUF a user would make. FROM the merged q8_0 file loads and
// decodes; FROM the base with ADAPTER the LoRA-only file gives the merged f32 export's logits (within 1e-3 of their
// scale, where the adapter moves them by far more) and its greedy tokens.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { exportGguf, llamaCppGreedy, llamaCppLogits, loadGguf, loadGgufFile, randomAdapter, relDiff } from '../../export/testing';
import { memoryFiles } from '../../llama/testing';
import { openModel, type ModelFiles } from '../../model/open';
import { makeTinyModel } from '../../model/tiny/make';
import { loadTokenizer } from '../../model/tokenizer';
import type { GgufKind } from '../../worker/api';
import type { LoraAdapter } from '../../llama/peft';
import { writeGguf } from '../../worker/gguf-export';
import { modelfileSnippet } from './gguf-export.svelte';

const BASE = { id: 'HuggingFaceTB/tiny-llama', weightHash: 'f00d' };
let dir = '';
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The app's file of `kind`, as the page receives it part by part. */
async function appFile(model: ModelFiles, adapter: LoraAdapter, kind: GgufKind): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  await writeGguf(model, adapter, { kind, name: 'tiny + adapter', signal: new AbortController().signal, sink: { start: () => {}, write: (p) => parts.push(p) } });
  return Buffer.concat(parts);
}

/** FROM and ADAPTER as the Modelfile says them, relative to the Modelfile's folder. */
function modelfileLines(snippet: string): { from: string; adapter?: string } {
  const lines = snippet.split('\n').filter((l) => !l.startsWith('#'));
  const at = (word: string) => lines.find((l) => l.startsWith(`${word} ./`))?.slice(word.length + 3);
  expect(lines.every((l) => /^(FROM|ADAPTER) \.\/[\w.-]+\.gguf$/.test(l)), snippet).toBe(true);
  return { from: at('FROM')!, adapter: at('ADAPTER') };
}

it('the Modelfiles name files llama.cpp loads: the merged file, and the LoRA-only file on its base', async () => {
  dir ||= await mkdtemp(join(tmpdir(), 'genpi-modelfile-'));
  const files = makeTinyModel({ arch: 'llama', seed: 3 });
  const model = await openModel(memoryFiles(files));
  const adapter = randomAdapter(model.config, 5);
  const tok = await loadTokenizer(memoryFiles(files));
  const chat = tok.applyChatTemplate([{ role: 'user', content: 'the model writes' }], { addGenerationPrompt: true });

  const merged = modelfileLines(modelfileSnippet('q8_0', 'adapter-q8_0.gguf', BASE));
  expect(merged).toEqual({ from: 'adapter-q8_0.gguf', adapter: undefined });
  await writeFile(join(dir, merged.from), await appFile(model, adapter, 'q8_0'));
  const q8 = await loadGgufFile(join(dir, merged.from));
  const q8Tokens = await llamaCppGreedy(q8.model, chat.ids, 16);
  await q8.done();

  const lora = modelfileLines(modelfileSnippet('lora', 'adapter-lora.gguf', BASE));
  expect(lora).toEqual({ from: 'tiny-llama.gguf', adapter: 'adapter-lora.gguf' });
  await writeFile(join(dir, lora.from), Buffer.concat(await exportGguf(model, null, { type: 'f32', name: 'tiny-llama' })));
  await writeFile(join(dir, lora.adapter!), await appFile(model, adapter, 'lora'));
  const V = model.config.vocabSize;
  const base = await loadGgufFile(join(dir, lora.from));
  const viaLora = await llamaCppGreedy(base.model, chat.ids, 16, join(dir, lora.adapter!));
  const baseLogits = await llamaCppLogits(base.model, chat.ids, V);
  const loraLogits = await llamaCppLogits(base.model, chat.ids, V, join(dir, lora.adapter!));
  await base.done();

  const f32 = await loadGguf(await exportGguf(model, adapter, { type: 'f32', name: 'merged' }));
  const want = await llamaCppGreedy(f32.model, chat.ids, 16);
  const mergedLogits = await llamaCppLogits(f32.model, chat.ids, V);
  await f32.done();
  const d = relDiff(loraLogits, mergedLogits);
  const adapterMoves = relDiff(baseLogits, mergedLogits);
  console.log(`base + LoRA-only vs merged f32: ${d.toExponential(2)} of the logits' scale (the adapter alone moves them ${adapterMoves.toFixed(2)}); ` +
    `greedy merged ${want.join(',')} | base + LoRA-only ${viaLora.join(',')} | merged q8_0 ${q8Tokens.join(',')}`);
  expect(adapterMoves).toBeGreaterThan(0.05);
  expect(d).toBeLessThan(1e-3);
  expect(viaLora).toEqual(want);
  expect(q8Tokens.length).toBeGreaterThan(0);
}, 60_000);
