// WorkerApi through comlink on a MessageChannel, as the page sees it: typed errors keep their names, progress and
// checkpoints arrive through proxied callbacks (the arrays transferred), and cancel reaches a running job.
import * as Comlink from 'comlink';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { acquireNodeGpu } from '../gpu/node';
import { loadShaderSources } from '../gpu/shaders-node';
import { NodeModelCache } from '../model/cache-node';
import type { Checkpoint } from '../train/loop';
import { DEFAULT_LOSS } from '../train/variants';
import { SHELL_PROMPT, testRecord } from '../testing/records';
import type { TrainSettings, TrainStep, WorkerApi } from './api';
import { createWorkerApi } from './worker-api';

const TRAIN: TrainSettings = {
  lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, loss: DEFAULT_LOSS,
  epochs: 1, batchSize: 1, lr: 1e-3, warmupFraction: 0, seed: 0, checkpointEvery: 1, maxTokensPerMicroBatch: 256,
};

let ctx: GpuContext | undefined;
let channel: MessageChannel;
let api: Comlink.Remote<WorkerApi>;

beforeAll(() => {
  channel = new MessageChannel();
  const acquire = async () => (ctx = await acquireNodeGpu({ disable: ['shader-f16'] }));
  Comlink.expose(createWorkerApi(acquire, loadShaderSources(), new NodeModelCache(mkdtempSync(join(tmpdir(), 'genpi-worker-api-')))), channel.port1 as never);
  api = Comlink.wrap<WorkerApi>(channel.port2 as never);
});
afterAll(() => {
  api?.[Comlink.releaseProxy]();
  channel?.port1.close();
  channel?.port2.close();
  ctx?.device.destroy();
});

it('reports the GPU and its self-test', async () => {
  const r = await api.info();
  expect(r.error).toBeNull();
  expect(r.gpu?.name).toBeTruthy();
  expect(r.selfTest?.diff.maxAbs).toBeLessThan(1e-6);
});

it('keeps typed errors\' names across the boundary', async () => {
  await expect(api.inspectPrompt(SHELL_PROMPT)).rejects.toMatchObject({ name: 'NoModelError', message: expect.stringMatching(/load a model first/) });
  expect(await api.cachedModels()).toEqual([]);
  await api.loadModel({ kind: 'tiny', arch: 'llama', seed: 2 });
  await expect(api.inspectPrompt('')).rejects.toMatchObject({ name: 'PromptError' });
  const huge = `You are an agent. ${'Follow every rule of the handbook carefully. '.repeat(400)}`;
  await expect(api.planTraining(huge, [testRecord(0)], TRAIN)).rejects.toMatchObject({ name: 'ContextTooShortError' });
});

it('trains with proxied progress and transferred checkpoints', async () => {
  const steps: TrainStep[] = [];
  const saved: Checkpoint[] = [];
  const r = await api.train('t', SHELL_PROMPT, [testRecord(0), testRecord(1)], TRAIN, Comlink.proxy({
    onStep: (s: TrainStep) => void steps.push(s),
    onCheckpoint: (c: Checkpoint) => void saved.push(c),
  }));
  expect(r).toMatchObject({ steps: 2, stopped: false });
  expect(r.adapter.params).toBeInstanceOf(Float32Array);
  expect(saved.map((c) => c.step)).toEqual([1, 2]);
  expect(saved[1].params).toBeInstanceOf(Float32Array);
  expect(saved[1].params).toEqual(r.adapter.params);
  expect(saved[1].m.length).toBe(r.adapter.params.length);
  await expect.poll(() => steps.length).toBe(2); // onStep is not awaited: the last may land after the result
});

it('cancels a running chat', async () => {
  let shown = 0;
  const chat = api.chat('c', { side: 'base', prompt: '', messages: [{ role: 'user', content: 'a long story' }], adapter: null, maxNewTokens: 400, temperature: 1, seed: 1 },
    Comlink.proxy(() => {
      if (++shown === 1) void api.cancel('c');
    }));
  await expect(chat).rejects.toMatchObject({ name: 'CancelledError' });
});
