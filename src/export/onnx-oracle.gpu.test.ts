// Our engine against the ONNX export of the same weights and adapter, run by runtimes no one here wrote: logits
// through onnxruntime-node (f32 engine weights, so both sides compute in f32), and greedy decoding through
// transformers.js' own from_pretrained and generate (its tokenizer, its KV-cache loop) against our Generator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { memoryFiles } from '../llama/testing';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer } from '../model/tokenizer';
import { exportOnnx } from './merged-folder';
import { EXPORT_CASES, maxAbsDiff, ort, randomAdapter, runDecoder, writeExport } from './testing';

const IDS = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77];
const TEXT = 'the model writes';
let kernels: Kernels;
let root = '';
beforeAll(async () => {
  kernels = await testKernels(false);
  root = await mkdtemp(join(tmpdir(), 'genpi-onnx-oracle-'));
  env.allowRemoteModels = false;
  env.localModelPath = root;
});
afterAll(async () => {
  kernels.device.destroy();
  await rm(root, { recursive: true, force: true });
});

describe.each(EXPORT_CASES)('$name', (c) => {
  it(`logits match onnxruntime-node${c.adapter ? '; greedy generate through transformers.js matches ours for 16 tokens' : ''}`, async () => {
    const model = await openModel(memoryFiles(makeTinyModel(c.tiny)));
    const adapter = c.adapter ? randomAdapter(model.config, 11) : null;
    const files = await exportOnnx(model, adapter, { dtype: 'f32' });
    const engine = await LlamaEngine.load(kernels, model);
    const session = await ort.InferenceSession.create(files[0].parts[0]);
    const d = maxAbsDiff(await engine.logits(IDS, adapter), (await runDecoder(session, model.config, [IDS])).logits);
    console.log(`${c.name}: max |engine - onnxruntime| ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
    if (!adapter) return;

    const dir = join(root, c.name.replace(/\W+/g, '-'));
    await writeExport(dir, files);
    const tokenizer = await AutoTokenizer.from_pretrained(basename(dir), { local_files_only: true });
    const theirModel = await AutoModelForCausalLM.from_pretrained(basename(dir), { local_files_only: true, device: 'cpu' });
    const ours = await loadTokenizer(memoryFiles(makeTinyModel(c.tiny)));
    const prompt = ours.encode(TEXT);
    expect(Array.from((tokenizer(TEXT).input_ids as Tensor).data as BigInt64Array, Number)).toEqual(prompt);
    const out = (await theirModel.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]),
      attention_mask: new Tensor('int64', BigInt64Array.from(prompt.map(() => 1n)), [1, prompt.length]),
      max_new_tokens: 16, do_sample: false,
    })) as Tensor;
    const theirs = Array.from(out.data as BigInt64Array, Number).slice(prompt.length);
    const generator = new Generator(engine, { tokenizer: ours, slots: 1, prefixSlots: 1, slotLength: 64 });
    generator.addAdapter('a', adapter);
    const [r] = await generator.generate([{ prompt, adapter: 'a', maxNewTokens: 16, temperature: 0 }]);
    generator.destroy();
    console.log(`${c.name}: transformers.js ${theirs.join(',')} | ours ${r.tokens.join(',')}`);
    expect(r.tokens).toEqual(theirs);
    expect(theirs.length).toBeGreaterThan(4);
    await theirModel.dispose();
  });
});
