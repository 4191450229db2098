// An adapter written in the PEFT layout, read back and applied the way PEFT does (merged into the base weights:
// W + (alpha/r)·B·A), gives the logits the engine computes with the adapter on top of the frozen weights.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { expectMatches, testKernels } from '../gpu/testing';
import { LlamaEngine } from '../llama/engine';
import { loraLayout, LORA_TARGETS } from '../llama/lora';
import { exportPeft, importPeft } from '../llama/peft';
import { memoryFiles } from '../llama/testing';
import { openModel, type ModelFiles } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { Rng } from '../util/rng';
import { compare } from '../ref/compare';
import { llama_forward, type RefModel } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { peft_merge } from '../ref/peft_merge';
import { packGroups } from '../train/batch';

let kernels: Kernels;
let model: ModelFiles;
let engine: LlamaEngine;
beforeAll(async () => {
  kernels = await testKernels(false);
  model = await openModel(memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 2 })));
  engine = await LlamaEngine.load(kernels, model);
});
afterAll(() => {
  engine?.destroy();
  kernels?.device.destroy();
});

it('the exported adapter merged into the weights as PEFT merges it gives the engine logits', async () => {
  const layout = loraLayout(model.config, { rank: 4, alpha: 12, dropout: 0.05, targets: [...LORA_TARGETS] });
  const rng = new Rng(4);
  const params = Float32Array.from({ length: layout.size }, () => 0.3 * rng.normal());
  // Through the files, as a user's Python would receive them.
  const files = exportPeft({ layout, params, baseModel: 'tiny' });
  const adapter = await importPeft(memoryFiles(files, 'adapter'), model.config);

  const ref: RefModel = await loadRefModel(model.weights, model.config, false);
  peft_merge(ref, adapter);
  const ids = [1, 40, 41, 42, 300, 7, 9, 2];
  const merged = llama_forward(ref, null, packGroups([{ weight: 1, sequences: [{ input_ids: ids, labels: ids }] }])).logits;
  expectMatches('logits: engine + adapter vs PEFT-merged weights', await engine.logits(ids, adapter), merged, { scaled: 1e-5 });
  // And the adapter matters: without it the logits are far from the merged model's.
  expect(compare('no adapter', await engine.logits(ids, null), merged).scaled).toBeGreaterThan(1e-2);
});
