// Gemma 3's ONNX export run by onnxruntime-node against the float64 reference with the adapter merged as PEFT merges
// it: whole sequences and the KV cache fed step by step, over 10 tokens, so the sliding window of 4 (every second
// layer) is crossed both in the prefill and at every cached step. One model, to keep the suite quick.
import { describe, expect, it } from 'vitest';
import { refLogits, wholeAndCachedDiffs } from './testing';

const IDS = [5, 17, 30, 100, 7, 250, 3, 42, 9, 77];

describe('gemma3 export', () => {
  it('logits through onnxruntime-node match the float64 reference, whole and with the KV cache', async () => {
    const { model, adapter, logits } = await refLogits({ arch: 'gemma3', seed: 6 }, true, IDS);
    const { dWhole, dSteps } = await wholeAndCachedDiffs(model, adapter, IDS, logits);
    const V = model.config.vocabSize;
    console.log(`gemma3: max |onnxruntime - float64 ref| whole ${dWhole.toExponential(2)}, KV steps ${dSteps.toExponential(2)}`);
    expect(dWhole).toBeLessThan(1e-4);
    expect(dSteps).toBeLessThan(1e-4);
    // The logits are far from flat, so a wrong window or norm could not hide under the tolerance.
    expect(Math.max(...logits.subarray(0, V)) - Math.min(...logits.subarray(0, V))).toBeGreaterThan(1);
  });
});
