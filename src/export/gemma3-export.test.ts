// Gemma 3's ONNX export run by onnxruntime-node against the float64 reference with the adapter merged as PEFT merges
// it: whole sequences and the KV cache fed step by step, over 10 tokens, so the sliding window of 4 (every second
// layer) is crossed both in the prefill and at every cached step. One model, to keep the suite quick.
import { describe, expect, it } from 'vitest';
import { packGroups } from '../train/batch';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { memoryFiles } from '../llama/testing';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { peft_merge } from '../ref/peft_merge';
import { exportOnnx } from './merged-folder';
import { maxAbsDiff, ort, randomAdapter, runDecoder } from './testing';

const IDS = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77];

describe('gemma3 export', () => {
  it('logits through onnxruntime-node match the float64 reference, whole and with the KV cache', async () => {
    const model = await openModel(memoryFiles(makeTinyModel({ arch: 'gemma3', seed: 6 })));
    const cfg = model.config;
    const ref = await loadRefModel(model.weights, cfg, false);
    const adapter = randomAdapter(cfg, 11);
    peft_merge(ref, adapter);
    const logits = llama_forward(ref, null, packGroups([{ weight: 1, sequences: [{ input_ids: IDS, labels: IDS }] }])).logits;

    const files = await exportOnnx(model, adapter, { dtype: 'f32' });
    const onnx = files.find((f) => f.name === 'onnx/model.onnx')!;
    const session = await ort.InferenceSession.create(onnx.parts.length === 1 ? onnx.parts[0] : new Uint8Array(Buffer.concat(onnx.parts)));
    const dWhole = maxAbsDiff((await runDecoder(session, cfg, [IDS])).logits, logits);
    const V = cfg.vocabSize;
    const first = await runDecoder(session, cfg, [IDS.slice(0, 6)]);
    let dSteps = maxAbsDiff(first.logits, logits.subarray(0, 6 * V));
    let past = first.present;
    for (let t = 6; t < IDS.length; t++) {
      const step = await runDecoder(session, cfg, [[IDS[t]]], { past });
      dSteps = Math.max(dSteps, maxAbsDiff(step.logits, logits.subarray(t * V, (t + 1) * V)));
      past = step.present;
    }
    console.log(`gemma3: max |onnxruntime - float64 ref| whole ${dWhole.toExponential(2)}, KV steps ${dSteps.toExponential(2)}`);
    expect(dWhole).toBeLessThan(1e-4);
    expect(dSteps).toBeLessThan(1e-4);
    // The logits are far from flat, so a wrong window or norm could not hide under the tolerance.
    expect(Math.max(...logits.subarray(0, V)) - Math.min(...logits.subarray(0, V))).toBeGreaterThan(1);
  });
});
