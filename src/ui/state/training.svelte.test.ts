// TrainingState over a scripted engine and fake-indexeddb: pause keeps the last checkpoint, resume continues from it
// (after a reload too, with on_policy's epoch-start params), a lost device pauses instead of failing, a refused
// checkpoint write still resumes from memory, a full disk keeps the finished adapter in memory, and a slow plan for
// old settings never replaces a newer one.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { deferred, LORA_SIZE, namedError, testApp, trainingDataset, type TestApp } from './testing';
import type { TrainPlanReport } from '../../worker/api';

/** The app with the dataset on screen and a checkpoint after every step. */
async function ready(o: Parameters<typeof testApp>[0] = {}): Promise<TestApp> {
  const app = await testApp(o);
  app.dataset.restore(trainingDataset());
  app.prompt.adopt(trainingDataset().prompt);
  app.training.settings.checkpointEvery = 1;
  return app;
}

/** Starts a run that holds after step `holdAt`, and waits for it to get there (wrapped: an async function would
 * wait for the run itself if it returned its promise). */
async function startHeld(app: TestApp, holdAt: number): Promise<{ started: Promise<void> }> {
  app.engine.script = { steps: 3, holdAt };
  const started = app.training.start();
  await app.engine.held.promise;
  return { started };
}

/** Runs until step `step`, pauses there and waits for the run to stop. */
async function pauseAfter(app: TestApp, step: number): Promise<void> {
  const { started } = await startHeld(app, step);
  app.training.pause();
  await started;
}

async function storedRun(app: TestApp) {
  return app.store.store!.getRun(app.training.run!.id);
}

describe('TrainingState', () => {
  it('gives the form the chosen variant\'s loss terms, and the curve those of the run on screen', async () => {
    const app = await ready();
    expect(app.training.variants[0].value).toBe(app.training.settings.loss.variant); // the table's default first
    expect(app.training.lossTerms).toEqual({ sft: false, pg: false, kl: true }); // kl_only
    app.engine.script = { steps: 1 };
    await app.training.start();
    app.training.settings.loss.variant = 'joint';
    expect(app.training.lossTerms).toEqual({ sft: true, pg: true, kl: false });
    expect(app.training.curveTerms).toEqual({ sft: false, pg: false, kl: true }); // the kl_only run just trained
  });

  it('pauses at the next step: the worker job is cancelled, the run is paused and resumable from its checkpoint', async () => {
    const app = await ready();
    const { started } = await startHeld(app, 1);
    expect(app.training.running).toBe(true);
    expect(app.training.statusText).toBe('Training');
    app.training.pause();
    expect(app.training.statusText).toBe('Pausing at the next step…');
    await started;

    expect(app.engine.cancelled).toEqual([app.engine.trainCalls[0].jobId]);
    expect(app.engine.trainCalls[0].jobId).toMatch(/^train-/);
    expect(app.training.running).toBe(false);
    expect(app.training.stopping).toBeNull();
    expect(app.training.run?.status).toBe('paused');
    expect(app.training.resumable?.step).toBe(1);
    expect(app.training.statusText).toBe('Paused');
    expect((await storedRun(app))?.status).toBe('paused');
    expect((await app.store.store!.latestCheckpoint(app.training.run!.id))?.step).toBe(1);
    // Runes compile in these tests: the run as a plain object, the way a component would snapshot it.
    expect($state.snapshot(app.training.run)?.curve.map((p) => p.step)).toEqual([1]);
  });

  it('resumes a paused run from its checkpoint with the run\'s own settings, and finishes it into the library', async () => {
    const app = await ready();
    await pauseAfter(app, 1);
    const finished: string[] = [];
    app.training.onFinished = (a) => finished.push(a.id);
    app.engine.script = { steps: 3 };
    await app.training.resume();

    const [first, second] = app.engine.trainCalls;
    expect(second.resume?.step).toBe(1);
    expect(second.settings).toEqual(first.settings);
    expect(second.jobId).not.toBe(first.jobId);
    expect(app.training.error).toBeNull();
    expect(app.training.resumable).toBeNull();
    expect(app.training.run?.status).toBe('done');
    expect(app.training.curve.map((p) => p.step)).toEqual([1, 2, 3]);
    const adapter = app.library.get(app.training.lastAdapterId);
    expect(adapter?.meta.dataset).toMatchObject({ name: 'terse', records: 4, train: 3, heldout: 1, skipped_lines: 0 });
    expect(adapter?.meta.prompt.tokens).toBe(5);
    expect(finished).toEqual([adapter?.id]);
    expect((await storedRun(app))).toMatchObject({ status: 'done', adapterId: adapter?.id });
    expect(await app.store.store!.getAdapter(adapter!.id)).toBeTruthy();
  });

  it('after a reload, offers the paused run from its stored checkpoint and resumes it with its saved dataset', async () => {
    const before = await ready();
    await pauseAfter(before, 2);
    const runId = before.training.run!.id;

    const app = await testApp({ fresh: false });
    await app.training.findResumable();
    expect(app.training.resumable).toMatchObject({ step: 2, run: { id: runId, status: 'paused' } });
    expect(app.training.statusText).toBe('Paused');
    expect(app.training.settings.checkpointEvery).toBe(1);
    app.engine.script = { steps: 3 };
    await app.training.resume();
    expect(app.engine.trainCalls[0].resume?.step).toBe(2);
    expect(app.dataset.id).toBe('dataset-1');
    expect(app.training.run?.status).toBe('done');
  });

  it('resumes an on_policy run after a reload with the params its epoch sampled from', async () => {
    const before = await ready();
    before.training.settings.loss.variant = 'on_policy';
    await pauseAfter(before, 2);
    const app = await testApp({ fresh: false });
    await app.training.findResumable();
    app.engine.script = { steps: 3 };
    await app.training.resume();
    const resume = app.engine.trainCalls[0].resume;
    expect(resume?.step).toBe(2);
    expect(resume?.epochStart).toEqual(new Float32Array(LORA_SIZE).fill(2));
    expect(app.training.run?.status).toBe('done');
  });

  it('pauses (not fails) a run whose device was lost, resumable from the last checkpoint', async () => {
    const app = await ready();
    app.engine.script = { steps: 3, failAt: 2, error: namedError('DeviceLostError', 'the GPU went away') };
    await app.training.start();

    expect(app.training.error?.name).toBe('DeviceLostError');
    expect(app.training.running).toBe(false);
    expect(app.training.run?.status).toBe('paused');
    expect(app.training.resumable?.step).toBe(2);
    expect(await storedRun(app)).toMatchObject({ status: 'paused', error: 'DeviceLostError: the GPU went away' });
  });

  it('fails a run on any other error, and does not offer it again', async () => {
    const app = await ready();
    app.engine.script = { steps: 3, failAt: 1, error: namedError('RangeError', 'bad') };
    await app.training.start();
    expect(app.training.run?.status).toBe('failed');
    expect(app.training.resumable).toBeNull();
    expect(app.training.statusText).toBe('Failed');
  });

  it('fails a run whose loss went non-finite with the worker\'s message, keeping the last good checkpoint', async () => {
    const app = await ready();
    app.training.settings.checkpointEvery = 2;
    const message = 'training step 3 gave a non-finite loss (NaN), so the run stopped there: nothing from this step was saved';
    app.engine.script = { steps: 4, failAt: 3, error: namedError('NonFiniteTrainingError', message) };
    await app.training.start();
    expect(app.training.error).toEqual({ name: 'NonFiniteTrainingError', message });
    expect(app.training.statusText).toBe('Failed');
    expect(await storedRun(app)).toMatchObject({ status: 'failed', error: `NonFiniteTrainingError: ${message}` });
    expect((await app.store.store!.latestCheckpoint(app.training.run!.id))?.step).toBe(2);
    expect(app.library.adapters).toEqual([]);
  });

  it('resumes from the checkpoint kept in memory when the store refused to save it', async () => {
    // Room for the dataset, the run and the adapter, not for a checkpoint (three LoRA-sized arrays).
    const app = await ready({ quotaBytes: 4 * LORA_SIZE + 8000 });
    await pauseAfter(app, 2);
    expect(app.store.saveError).toMatchObject({ name: 'StorageFullError', what: `the checkpoint of run ${app.training.run!.id}` });
    expect(await app.store.store!.latestCheckpoint(app.training.run!.id)).toBeUndefined();
    expect(app.training.resumable?.step).toBe(2);

    app.engine.script = { steps: 3 };
    await app.training.resume();
    expect(app.engine.trainCalls[1].resume?.step).toBe(2);
    expect(app.engine.trainCalls[1].resume?.params[0]).toBe(2);
    expect(app.training.run?.status).toBe('done');
  });

  it('keeps a finished adapter in the library when the disk is full, and says what was not saved', async () => {
    // Room for the dataset and the run only.
    const app = await ready({ quotaBytes: 6000 });
    await app.training.start();
    expect(app.training.run?.status).toBe('done');
    const adapter = app.library.get(app.training.lastAdapterId)!;
    expect(adapter).toBeTruthy();
    expect(await app.store.store!.getAdapter(adapter.id)).toBeUndefined();
    expect(app.store.saveError?.name).toBe('StorageFullError');
    expect(app.store.saveError?.message).toMatch(/delete/i);
    await app.library.refresh();
    expect(app.library.get(adapter.id)).toBeTruthy();
  });

  it('shows only the latest plan: an older request answering late is dropped, though its caller gets it', async () => {
    const app = await ready();
    const answers = [deferred<TrainPlanReport>(), deferred<TrainPlanReport>()];
    const asked: number[] = [];
    app.engine.planTraining = (_p, _r, s) => (asked.push(s.lr), answers[asked.length - 1].promise);
    const old = app.training.checkPlan();
    app.training.settings.lr = 5e-4;
    const latest = app.training.checkPlan();
    expect(asked[0]).not.toBe(5e-4);
    expect(asked[1]).toBe(5e-4);

    const plan = (steps: number) => ({ steps, epochs: 1, batchSize: 1 }) as TrainPlanReport;
    answers[1].resolve(plan(20));
    expect((await latest)?.steps).toBe(20);
    expect(app.training.planning).toBe(false);
    answers[0].resolve(plan(10));
    expect((await old)?.steps).toBe(10);
    expect(app.training.plan?.steps).toBe(20);
  });

  it('drops an older plan request\'s error, and keeps planning on until the latest answers', async () => {
    const app = await ready();
    const answers = [deferred<TrainPlanReport>(), deferred<TrainPlanReport>()];
    let n = 0;
    app.engine.planTraining = () => answers[n++].promise;
    const old = app.training.checkPlan();
    const latest = app.training.checkPlan();
    answers[0].reject(namedError('ContextTooLongError', 'too long'));
    expect(await old).toBeNull();
    expect(app.training.planError).toBeNull();
    expect(app.training.planning).toBe(true);
    answers[1].resolve({ steps: 7 } as TrainPlanReport);
    await latest;
    expect(app.training.plan?.steps).toBe(7);
    expect(app.training.planning).toBe(false);
  });
});
