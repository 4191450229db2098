// The worker's transformers.js export as the page calls it: the loaded tiny model with an adapter, zipped, with
// progress; the zip's model run by onnxruntime-node gives our engine's logits; cancel stops it; an adapter that does
// not fit the loaded model is refused.
import { expect, it } from 'vitest';
import { loraLayout } from '../llama/lora';
import { unzipFiles } from '../store/zip';
import { maxAbsDiff, ort, randomAdapter, runDecoder } from '../export/testing';
import { sessionSuite, TINY_QWEN2 } from '../testing/session';
import type { ExportProgress } from './api';

const suite = sessionSuite({ model: TINY_QWEN2 });

it('exports the loaded model with the adapter merged as a zip that onnxruntime runs to our logits', async () => {
  const engine = (suite.session as unknown as { loaded: { engine: import('../llama/engine').LlamaEngine } }).loaded.engine;
  const adapter = randomAdapter(engine.cfg, 5);
  const seen: ExportProgress[] = [];
  const zip = await suite.session.exportOnnx('job-1', { spec: adapter.layout.spec, params: adapter.params }, 'f32', (p) => seen.push(p));
  const files = unzipFiles(zip);
  expect([...files.keys()]).toEqual(expect.arrayContaining(['onnx/model.onnx', 'config.json', 'generation_config.json', 'tokenizer.json']));
  expect(seen.at(-1)).toEqual({ fraction: 1, stage: 'done' });
  const ids = [3, 14, 15, 92, 65];
  const onnx = await runDecoder(await ort.InferenceSession.create(files.get('onnx/model.onnx')!), engine.cfg, [ids]);
  const d = maxAbsDiff(onnx.logits, await engine.logits(ids, adapter));
  console.log(`worker export: max |engine - onnxruntime| ${d.toExponential(2)}`);
  expect(d).toBeLessThan(1e-4);
});

it('cancel stops an export; an adapter of another shape is refused', async () => {
  const engine = (suite.session as unknown as { loaded: { engine: import('../llama/engine').LlamaEngine } }).loaded.engine;
  const adapter = randomAdapter(engine.cfg, 5);
  const run = suite.session.exportOnnx('job-2', { spec: adapter.layout.spec, params: adapter.params }, 'f16');
  suite.session.cancel('job-2');
  await expect(run).rejects.toMatchObject({ name: 'CancelledError' });
  const spec = { rank: 2, alpha: 4, dropout: 0, targets: ['q' as const] };
  const wrong = new Float32Array(loraLayout(engine.cfg, spec).size + 8);
  await expect(suite.session.exportOnnx('job-3', { spec, params: wrong }, 'f32')).rejects.toThrow(/was made for another model/);
});
