// The GPU engine end to end against the float64 reference (src/ref/llama.ts) on tiny models: logits, the joint
// loss per group and every LoRA gradient, for Llama and Qwen2 with tied and untied heads, MQA and GQA, rope scaling
// on and off, f32/f16/bf16 files on f32 and f16 GPU weights, split weights, recompute and dropout (the checks in
// src/testing/reference-check.ts, shared with the Qwen3 and Gemma 3 tests); training to zero loss; micro-batches.
import { describe, expect, it } from 'vitest';
import { openModel } from '../model/open';
import { makeTinyModel, type TinyModelOptions } from '../model/tiny/make';
import { Rng } from '../util/rng';
import { compare, formatDiff } from '../ref/compare';
import { packGroups } from '../train/batch';
import { memoryFiles } from './testing';
import { LlamaEngine } from './engine';
import { loraLayout } from './lora';
import { expectEngineMatchesReference, kernelsByPrecision, type ReferenceCase } from '../testing/reference-check';
import { testGroups } from '../testing/groups';
import { LoraTrainer } from './trainer';

const getKernels = kernelsByPrecision();

/** LoRA params with non-zero B, so every gradient (A's included) is non-zero. */
function randomLora(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => 0.2 * rng.normal());
}

interface Case extends ReferenceCase {
  tiny: TinyModelOptions;
}
const CASES: Case[] = [
  { name: 'llama tied GQA f32', tiny: { arch: 'llama', dtype: 'f32' }, f16: false },
  { name: 'llama MQA rope-llama3 f16 file, f16 weights', tiny: { arch: 'llama', dtype: 'f16', numKvHeads: 1, ropeScaling: 'llama3' }, f16: true, vocabChunk: 64 },
  { name: 'qwen2 untied GQA bf16 file, f16 weights, split head', tiny: { arch: 'qwen2', dtype: 'bf16', seed: 3 }, f16: true, maxBlockBytes: 16384, vocabChunk: 128 },
  { name: 'qwen2 MHA f32, recompute, q/v only', tiny: { arch: 'qwen2', dtype: 'f32', numKvHeads: 4 }, f16: false, recompute: true, targets: ['q', 'v'] },
  { name: 'llama untied f32, split weights, dropout 0.1', tiny: { arch: 'llama', dtype: 'f32', tieWordEmbeddings: false, seed: 7 }, f16: false, maxBlockBytes: 16384, dropout: 0.1 },
];

describe.each(CASES)('$name', (c) => {
  it('logits, loss per group and every LoRA gradient match the float64 reference', async () => {
    await expectEngineMatchesReference(await getKernels(c.f16), await openModel(memoryFiles(makeTinyModel(c.tiny))), c);
  });
});

it('100 steps on one fixed batch drive the loss close to zero', async () => {
  const kernels = await getKernels(false);
  const model = await openModel(memoryFiles(makeTinyModel({ arch: 'llama', seed: 2 })));
  const engine = await LlamaEngine.load(kernels, model);
  const layout = loraLayout(model.config, { rank: 8, alpha: 16, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
  const batch = packGroups(testGroups(model.config.vocabSize, 9, [[12, 10]]));
  const trainer = new LoraTrainer(engine, layout, { maxT: batch.T, groups: 1 });
  const { initLora } = await import('./lora');
  trainer.setParams(initLora(layout, 1));
  const losses: number[] = [];
  for (let step = 0; step < 100; step++) {
    trainer.zeroGrads();
    await trainer.forwardBackward(batch, { first: true });
    losses.push((await trainer.readLoss())[0]);
    await trainer.update({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 });
  }
  console.log(`loss: step 0 ${losses[0].toFixed(3)}, 25 ${losses[25].toFixed(3)}, 50 ${losses[50].toFixed(3)}, 99 ${losses[99].toFixed(4)}`);
  expect(losses[0]).toBeGreaterThan(3);
  expect(losses[99]).toBeLessThan(0.05);
  trainer.destroy();
  engine.destroy();
});

it('two micro-batches accumulate the same gradients and loss as one batch; the plan equals the allocation', async () => {
  const kernels = await getKernels(false);
  const model = await openModel(memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 6 })));
  const engine = await LlamaEngine.load(kernels, model);
  const layout = loraLayout(model.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v', 'down'] });
  const groups = testGroups(model.config.vocabSize, 13, [[9, 4], [13, 6]]);
  const { groupTokenCounts, packBatch } = await import('../train/batch');
  const counts = groupTokenCounts(groups);
  const parts = groups.flatMap((g, group) => g.sequences.map((seq) => ({ seq, group })));
  const whole = packBatch(parts, groups, counts);
  const micro = [packBatch(parts.slice(0, 2), groups, counts), packBatch(parts.slice(2), groups, counts)];
  const params = randomLora(layout.size, 3);
  const run = async (batches: typeof micro) => {
    const t = new LoraTrainer(engine, layout, { maxT: whole.T, groups: 2 });
    t.setParams(params);
    t.zeroGrads();
    for (const [i, b] of batches.entries()) await t.forwardBackward(b, { first: i === 0 });
    const r = { loss: await t.readLoss(), grads: await t.readGrads(), plan: t.plan.total, bytes: t.allocatedBytes };
    t.destroy();
    return r;
  };
  const one = await run([whole]);
  const two = await run(micro);
  const dg = compare('grads, 2 micro-batches vs 1', two.grads, one.grads);
  const dl = compare('loss, 2 micro-batches vs 1', two.loss, one.loss);
  console.log(`${formatDiff(dg)}\n${formatDiff(dl)}`);
  expect(dg.scaled).toBeLessThan(1e-5);
  expect(dl.scaled).toBeLessThan(1e-6);
  // The planner's figure is what the trainer and engine allocate (buffers round up to 4 bytes, f16 rows pad).
  expect(Math.abs(one.plan - (one.bytes + engine.weights.bytes)) / one.plan).toBeLessThan(0.01);
  engine.destroy();
});
