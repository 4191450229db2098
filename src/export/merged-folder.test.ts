// The ONNX export run by onnxruntime-node, a runtime no one here wrote, against the float64 reference with the
// adapter merged as PEFT merges it (src/ref/peft_merge.ts): whole sequences, the KV cache fed step by step, left
// padding in a batch, f16 weights, and external data files.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryFiles } from '../llama/testing';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { exportOnnx } from './merged-folder';
import { EXPORT_CASES, joined, maxAbsDiff, ort, refLogits, runDecoder, wholeAndCachedDiffs, writeExport } from './testing';

const IDS = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77];
const TOL = 1e-4;

describe.each(EXPORT_CASES)('$name', (c) => {
  it('logits through onnxruntime-node match the float64 reference, whole and with the KV cache', async () => {
    const { model, adapter, logits } = await refLogits(c.tiny, c.adapter, IDS);
    const { dWhole, dSteps } = await wholeAndCachedDiffs(model, adapter, IDS, logits);
    console.log(`${c.name}: max |onnxruntime - float64 ref| whole ${dWhole.toExponential(2)}, KV steps ${dSteps.toExponential(2)}`);
    expect(dWhole).toBeLessThan(TOL);
    expect(dSteps).toBeLessThan(TOL);
  });
});

describe('batches, f16 and external data', () => {
  const tiny = EXPORT_CASES[2].tiny; // qwen2 untied GQA: biases too
  let dir = '';
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a left-padded row of a batch gets the logits it gets alone', async () => {
    const { model, logits } = await refLogits(tiny, false, IDS.slice(0, 6));
    const session = await ort.InferenceSession.create(joined((await exportOnnx(model, null, { dtype: 'f32' }))[0]));
    const out = await runDecoder(session, model.config, [IDS.slice(0, 8), [0, 0, ...IDS.slice(0, 6)]], {
      mask: [[1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1, 1]],
      positions: [[0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 0, 1, 2, 3, 4, 5]],
    });
    const V = model.config.vocabSize;
    const d = maxAbsDiff(out.logits.subarray((8 + 2) * V, 16 * V), logits);
    console.log(`left padding: max |onnxruntime - float64 ref| ${d.toExponential(2)}`);
    expect(d).toBeLessThan(TOL);
  });

  it('f16 weights give the reference with f16-rounded weights', async () => {
    const { model, logits } = await refLogits(tiny, false, IDS, true);
    const files = await exportOnnx(model, null, { dtype: 'f16' });
    expect(files[0].name).toBe('onnx/model_fp16.onnx');
    const session = await ort.InferenceSession.create(joined(files[0]));
    const d = maxAbsDiff((await runDecoder(session, model.config, [IDS])).logits, logits);
    console.log(`f16: max |onnxruntime - float64 ref (f16 weights)| ${d.toExponential(2)}`);
    expect(d).toBeLessThan(TOL);
  });

  it('weights past the limit go to external data chunks that onnxruntime reads from disk', async () => {
    const { model, adapter, logits } = await refLogits(tiny, true, IDS);
    const files = await exportOnnx(model, adapter, { dtype: 'f32', externalDataAbove: 100_000 });
    const config = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === 'config.json')!.parts[0]));
    const chunks = files.filter((f) => f.name.startsWith('onnx/model.onnx_data'));
    expect(chunks.length).toBeGreaterThan(1);
    expect(config['transformers.js_config']).toEqual({ dtype: 'fp32', use_external_data_format: { 'model.onnx': chunks.length } });
    expect(files[0].parts[0].length).toBeLessThan(20_000);
    dir = await mkdtemp(join(tmpdir(), 'genpi-onnx-'));
    await writeExport(dir, files);
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['model.onnx', ...chunks.map((f) => f.name.slice(5))].sort());
    const session = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'));
    const d = maxAbsDiff((await runDecoder(session, model.config, [IDS])).logits, logits);
    console.log(`external data (${chunks.length} chunks): max |onnxruntime - float64 ref| ${d.toExponential(2)}`);
    expect(d).toBeLessThan(TOL);
  });
});

describe('config.json', () => {
  it('names the model_type transformers.js picks its class by, when the source config names only architectures', async () => {
    for (const c of EXPORT_CASES) {
      const files = makeTinyModel(c.tiny);
      const source = JSON.parse(new TextDecoder().decode(files.get('config.json')!));
      delete source.model_type;
      files.set('config.json', new TextEncoder().encode(JSON.stringify(source)));
      const out = await exportOnnx(await openModel(memoryFiles(files)), null, { dtype: 'f32' });
      const config = JSON.parse(new TextDecoder().decode(out.find((f) => f.name === 'config.json')!.parts[0]));
      expect(config.model_type, c.name).toBe({ LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3', Gemma3ForCausalLM: 'gemma3_text' }[source.architectures[0] as string]);
    }
  });
});
