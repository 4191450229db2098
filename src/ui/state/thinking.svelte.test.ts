// The app's thinking-mode setting (Qwen3's): off until turned on, applied by the worker to the loaded model between
// jobs and passed to every later load; an adapter trained with it records it, and chatting with an adapter in the
// other mode warns.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { ModelSource, ModelSummary } from '../../worker/api';
import { SUMMARY, testApp, trainingDataset, type TestApp } from './testing';

/** The app with a model that has a thinking mode (off), and the dataset on screen. */
async function withThinkingModel(): Promise<TestApp> {
  const app = await testApp();
  app.model.summary = { ...SUMMARY, tokenizer: { ...SUMMARY.tokenizer, thinking: false } };
  app.dataset.restore(trainingDataset());
  app.prompt.adopt(trainingDataset().prompt);
  return app;
}

describe('ModelState.thinking', () => {
  it('is off until turned on; the worker sets it on the loaded model, and every later load asks for it', async () => {
    const app = await withThinkingModel();
    expect(app.model.thinking).toBe(false);
    await app.model.setThinking(true);
    expect(app.engine.thinkingCalls).toEqual([true]);
    expect(app.model.thinking).toBe(true);
    expect(app.model.summary!.tokenizer.thinking).toBe(true);

    const loads: { thinking?: boolean }[] = [];
    Object.assign(app.engine, {
      loadModel: async (_s: ModelSource, _p: unknown, opts: { thinking?: boolean }): Promise<ModelSummary> => {
        loads.push(opts);
        return { ...SUMMARY, tokenizer: { ...SUMMARY.tokenizer, thinking: opts.thinking ?? false } };
      },
    });
    await app.model.reload();
    expect(loads).toEqual([{ thinking: true }]);
    expect(app.model.summary!.tokenizer.thinking).toBe(true);
  });

  it('asks the worker nothing for a model without a thinking mode, and waits for a running job', async () => {
    const app = await testApp(); // SUMMARY: no thinking mode
    await app.model.setThinking(true);
    expect(app.engine.thinkingCalls).toEqual([]);
    expect(app.model.thinking).toBe(true); // kept for the next model

    const busy = await withThinkingModel();
    const release = busy.gate.run('training', () => new Promise<void>((r) => setTimeout(r, 10)));
    await busy.model.setThinking(true);
    expect(busy.engine.thinkingCalls).toEqual([]);
    expect(busy.model.thinking).toBe(false);
    expect(busy.model.error?.message).toMatch(/training is running/);
    await release;
  });

  it('an adapter records the mode it was trained with; chat warns when the model now runs in the other', async () => {
    const app = await withThinkingModel();
    await app.model.setThinking(true);
    await app.training.start();
    const adapter = app.library.get(app.training.lastAdapterId)!;
    expect(adapter.meta.thinking).toBe(true);

    app.chat.open(adapter.id);
    expect(app.chat.thinkingWarning).toBeNull();
    await app.model.setThinking(false);
    expect(app.chat.thinkingWarning).toMatch(/was made with thinking on, but runs now with thinking off.*Set the thinking mode in step 1 to match/);
  });
});
