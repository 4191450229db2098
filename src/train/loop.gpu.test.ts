// A run resumed from a checkpoint ends with the same adapter (params and Adam moments) as an uninterrupted run,
// because data order and dropout come from the seed and the step alone.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { LlamaEngine } from '../llama/engine';
import { initLora, loraLayout } from '../llama/lora';
import { memoryFiles } from '../llama/testing';
import { testGroups } from '../testing/groups';
import { LoraTrainer } from '../llama/trainer';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { runTraining, type Checkpoint, type LoopSettings } from './loop';

let kernels: Kernels;
let engine: LlamaEngine;
beforeAll(async () => {
  kernels = await testKernels(false);
  engine = await LlamaEngine.load(kernels, await openModel(memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 4 }))));
});
afterAll(() => {
  engine?.destroy();
  kernels?.device.destroy();
});

it('resume from a checkpoint equals an uninterrupted run, bit for bit', async () => {
  const layout = loraLayout(engine.cfg, { rank: 4, alpha: 8, dropout: 0.1, targets: ['q', 'v', 'gate'] });
  const groups = testGroups(engine.cfg.vocabSize, 3, [[8, 5, 9, 6, 7, 4], [10, 6, 8, 5, 9, 7]]);
  const examples = groups[0].sequences.map((s, i) => [s, groups[1].sequences[i]]);
  const settings: LoopSettings = {
    epochs: 2, batchSize: 4, lr: 1e-3, warmupFraction: 0.03, seed: 9, checkpointEvery: 2,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxNorm: 1 },
  };
  const fresh = () => {
    const t = new LoraTrainer(engine, layout, { maxT: 40, groups: 2 });
    t.setParams(initLora(layout, 1));
    return t;
  };
  const saved: Checkpoint[] = [];
  const whole = fresh();
  const full = await runTraining(whole, examples, groups, settings, { saveCheckpoint: async (c) => void saved.push(c) });
  expect(full.steps).toBe(4); // 6 examples, batches of 4, 2 epochs
  expect(saved.map((c) => c.step)).toEqual([2, 4]);
  const end = { params: await whole.readParams(), ...(await whole.readMoments()) };
  whole.destroy();

  // Interrupted after step 2: a new trainer continues from that checkpoint.
  const resumed = fresh();
  const ckpt = saved[0];
  resumed.setParams(ckpt.params);
  resumed.setMoments(ckpt.m, ckpt.v, ckpt.step);
  const rest = await runTraining(resumed, examples, groups, settings, {}, ckpt);
  expect(rest.curve.map((p) => p.loss)).toEqual(full.curve.map((p) => p.loss));
  expect(await resumed.readParams()).toEqual(end.params);
  const m = await resumed.readMoments();
  expect(m.m).toEqual(end.m);
  expect(m.v).toEqual(end.v);
  expect(end.params).not.toEqual(initLora(layout, 1)); // it trained
  resumed.destroy();
});
