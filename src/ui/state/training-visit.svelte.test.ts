// TrainingState as a visitor meets it (issue 25): a reload resumes the interrupted run by itself, its model loaded
// again; a paused run is not "finished" and blocks Start until it is resumed or discarded; the time shown is real
// time over pause, resume and cancel; and "auto" epochs and batch stay auto when a run comes back after a reload.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { ModelSource, ModelSummary } from '../../worker/api';
import { TINY_SOURCE } from '../curated-models';
import { rememberModel } from './store.svelte';
import { deferred, SUMMARY, testApp, trainingDataset, type TestApp } from './testing';

/** The app with the dataset on screen, a checkpoint every step, and a clock the test moves. */
async function ready(o: Parameters<typeof testApp>[0] = {}) {
  const app = await testApp(o);
  app.dataset.restore(trainingDataset());
  app.prompt.adopt(trainingDataset().prompt);
  app.training.settings.checkpointEvery = 1;
  const clock = { t: 1_000_000 };
  app.training.now = () => clock.t;
  return { app, clock };
}

/** The fake engine answers loadModel as the worker does, and records what it was asked to load. */
function loadsModels(app: TestApp): ModelSource[] {
  const loads: ModelSource[] = [];
  Object.assign(app.engine, {
    loadModel: async (source: ModelSource): Promise<ModelSummary> => (loads.push(source), SUMMARY),
  });
  return loads;
}

describe('TrainingState on a visit', () => {
  it('a reload resumes the interrupted run by itself: the model is loaded again and training goes on from its checkpoint', async () => {
    const { app: before } = await ready();
    await rememberModel(before.store, SUMMARY, { ...TINY_SOURCE });
    before.engine.script = { steps: 3, holdAt: 2 };
    void before.training.start();
    await before.engine.held.promise; // the page is closed here: the run stays 'running' in the store

    const { app } = await ready({ fresh: false });
    app.model.summary = null; // a fresh page has no model yet
    const loads = loadsModels(app);
    app.engine.script = { steps: 3 };
    await app.training.findResumable();
    expect(app.training.resumable?.run.status).toBe('running');
    await app.training.autoResume();

    expect(loads).toEqual([{ ...TINY_SOURCE }]);
    expect(app.engine.trainCalls[0].resume?.step).toBe(2);
    expect(app.training.run?.status).toBe('done');
    expect(app.training.resumable).toBeNull();
  });

  it('a paused run waits for the user after a reload: no model load, no training', async () => {
    const { app: before } = await ready();
    await rememberModel(before.store, SUMMARY, { ...TINY_SOURCE });
    before.engine.script = { steps: 3, holdAt: 1 };
    const started = before.training.start();
    await before.engine.held.promise;
    before.training.pause();
    await started;

    const { app } = await ready({ fresh: false });
    app.model.summary = null;
    const loads = loadsModels(app);
    await app.training.findResumable();
    await app.training.autoResume();
    expect(loads).toEqual([]);
    expect(app.engine.trainCalls).toEqual([]);
    expect(app.training.statusText).toBe('Paused');
  });

  it('after Pause: Start is refused until the run is resumed or discarded, and the time is "so far", not "in all"', async () => {
    const { app, clock } = await ready();
    app.engine.script = { steps: 3, holdAt: 1 };
    const started = app.training.start();
    await app.engine.held.promise;
    clock.t += 90_000;
    app.training.pause();
    await started;

    expect(app.training.statusText).toBe('Paused');
    expect(app.training.timeText).toBe('1 min 30 s so far');
    expect(app.training.startBlocker).toMatch(/paused: resume or discard it/);
    await app.training.start();
    expect(app.engine.trainCalls).toHaveLength(1); // refused

    await app.training.discard();
    expect(app.training.startBlocker).toBeNull();
  });

  it('counts real time over pause, resume and cancel, and saves it with the run', async () => {
    const { app, clock } = await ready();
    app.engine.script = { steps: 5, holdAt: 1 };
    const first = app.training.start();
    await app.engine.held.promise;
    clock.t += 60_000;
    app.training.pause();
    await first;
    clock.t += 3_600_000; // an hour paused is not training time
    app.engine.held = deferred<string>();
    app.engine.script = { steps: 5, holdAt: 3 };
    const second = app.training.resume();
    await app.engine.held.promise;
    clock.t += 120_000;
    app.training.cancel();
    await second;

    expect(app.training.run?.status).toBe('cancelled');
    expect(app.training.seconds).toBe(180);
    expect(app.training.timeText).toBe('3 min 00 s so far');
    expect((await app.store.store!.getRun(app.training.run!.id))?.seconds).toBe(180);
  });

  it('keeps "auto" epochs and batch in the form when a run comes back after a reload, and resumes with the plan\'s numbers', async () => {
    const { app: before } = await ready();
    expect(before.training.settings.epochs).toBeNull();
    expect(before.training.settings.batchSize).toBeNull();
    before.engine.script = { steps: 3, holdAt: 1 };
    const started = before.training.start();
    await before.engine.held.promise;
    before.training.pause();
    await started;

    const { app } = await ready({ fresh: false });
    await app.training.findResumable();
    expect(app.training.settings.epochs).toBeNull();
    expect(app.training.settings.batchSize).toBeNull();
    expect(app.training.settings.checkpointEvery).toBe(1);
    await app.training.resume();
    expect(app.engine.trainCalls[0].settings).toMatchObject({ epochs: 3, batchSize: 4 });
    expect(app.training.settings.epochs).toBeNull();
    expect(app.training.settings.batchSize).toBeNull();
  });
});

describe('TrainingState after a reload', () => {
  it('a pause before the resumed run\'s next checkpoint offers the checkpoint it resumed from, not step 0', async () => {
    const { app: before } = await ready();
    before.training.settings.checkpointEvery = 2; // checkpoints at steps 2 and 4
    await pauseAfter(before, 2);

    const { app } = await ready({ fresh: false });
    await app.training.findResumable();
    app.engine.script = { steps: 5, holdAt: 3 };
    const resumed = app.training.resume();
    await app.engine.held.promise;
    app.training.pause();
    await resumed;
    expect(app.training.resumable?.step).toBe(2);
  });
});

async function pauseAfter(app: TestApp, step: number): Promise<void> {
  app.engine.script = { steps: 3, holdAt: step };
  const started = app.training.start();
  await app.engine.held.promise;
  app.training.pause();
  await started;
}
