import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MissingRecordError } from './errors';
import { GenpiStore } from './repo';
import { freshIndexedDB, ramp, testAdapter, testDataset, testRun } from './testing';

let store: GenpiStore;
beforeEach(async () => {
  freshIndexedDB();
  store = await GenpiStore.open('repo');
});
afterEach(() => store.close());

const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

describe('GenpiStore', () => {
  it('puts, gets, lists (most recently updated first) and deletes datasets', async () => {
    await store.putDataset(testDataset({ id: 'old', updated: 1 }));
    await store.putDataset(testDataset({ id: 'new', updated: 3 }));
    await store.putDataset(testDataset({ id: 'mid', updated: 2 }));
    expect(ids(await store.listDatasets())).toEqual(['new', 'mid', 'old']);
    await store.putDataset(testDataset({ id: 'old', updated: 4, name: 'renamed' }));
    expect(ids(await store.listDatasets())).toEqual(['old', 'new', 'mid']);
    expect((await store.getDataset('old'))?.name).toBe('renamed');
    await store.deleteDataset('new');
    expect(await store.getDataset('new')).toBeUndefined();
    expect(ids(await store.listDatasets())).toEqual(['old', 'mid']);
  });

  it('lists runs newest first, by dataset, and finds the interrupted ones', async () => {
    await store.putRun(testRun({ id: 'done', created: 1, status: 'done' }));
    await store.putRun(testRun({ id: 'paused', created: 2, status: 'paused', datasetId: 'd2' }));
    await store.putRun(testRun({ id: 'running', created: 3, status: 'running' }));
    await store.putRun(testRun({ id: 'failed', created: 4, status: 'failed', error: 'device lost' }));
    await store.putRun(testRun({ id: 'cancelled', created: 5, status: 'cancelled' }));
    expect(ids(await store.listRuns())).toEqual(['cancelled', 'failed', 'running', 'paused', 'done']);
    expect(ids(await store.interrupted())).toEqual(['running', 'paused']);
    expect(ids(await store.runsOfDataset('d2'))).toEqual(['paused']);
    expect((await store.getRun('failed'))?.error).toBe('device lost');

    await store.putRun(testRun({ id: 'running', created: 3, status: 'done' }));
    expect(ids(await store.interrupted())).toEqual(['paused']);
  });

  it('keeps one checkpoint per run, the latest, with its Float32Arrays intact', async () => {
    await store.putRun(testRun({ status: 'running' }));
    expect(await store.latestCheckpoint('r1')).toBeUndefined();
    const curve = [{ step: 1, loss: 2.5, sft: 2, pg: null, kl: null, lr: 1e-4, gradNorm: 0.7, tokens: 64 }];
    await store.saveCheckpoint('r1', { step: 1, params: ramp(6), m: ramp(6, 1), v: ramp(6, 2), curve });
    await store.saveCheckpoint('r1', { step: 2, params: ramp(6, 10), m: ramp(6, 11), v: ramp(6, 12), curve });

    const latest = await store.latestCheckpoint('r1');
    expect(latest?.step).toBe(2);
    expect(latest?.runId).toBe('r1');
    expect(latest?.saved).toBeGreaterThan(0);
    expect(latest?.params).toBeInstanceOf(Float32Array);
    expect(latest?.params).toEqual(ramp(6, 10));
    expect(latest?.m).toEqual(ramp(6, 11));
    expect(latest?.v).toEqual(ramp(6, 12));
    expect(latest?.curve).toEqual(curve);
    expect(await store.db.count('checkpoints')).toBe(1);
  });

  it('deletes a run together with its checkpoint, and only those', async () => {
    await store.putRun(testRun({ id: 'r1' }));
    await store.putRun(testRun({ id: 'r2' }));
    const c = { step: 1, params: ramp(2), m: ramp(2), v: ramp(2), curve: [] };
    await store.saveCheckpoint('r1', c);
    await store.saveCheckpoint('r2', c);
    await store.deleteRun('r1');
    expect(await store.getRun('r1')).toBeUndefined();
    expect(await store.latestCheckpoint('r1')).toBeUndefined();
    expect(await store.getRun('r2')).toBeDefined();
    expect(await store.latestCheckpoint('r2')).toBeDefined();
  });

  it('puts, lists (newest first), renames and deletes adapters', async () => {
    const params = Float32Array.from([0.1, -0.2, Number.MAX_VALUE, -0]);
    await store.putAdapter(testAdapter({ id: 'a', created: 2, params }));
    await store.putAdapter(testAdapter({ id: 'b', created: 1 }));
    await store.putAdapter(testAdapter({ id: 'c', created: 3 }));
    expect(ids(await store.listAdapters())).toEqual(['c', 'a', 'b']);
    expect((await store.getAdapter('a'))?.params).toEqual(params);

    await store.renameAdapter('a', 'support bot v2');
    const renamed = await store.getAdapter('a');
    expect(renamed?.name).toBe('support bot v2');
    expect(renamed?.params).toEqual(params);
    await expect(store.renameAdapter('nope', 'x')).rejects.toBeInstanceOf(MissingRecordError);
    await expect(store.renameAdapter('nope', 'x')).rejects.toThrow(/No adapter with id "nope".*reload/);

    await store.deleteAdapter('c');
    expect(ids(await store.listAdapters())).toEqual(['a', 'b']);
  });

  it('gets and sets settings by key', async () => {
    expect(await store.getSetting('theme')).toBeUndefined();
    await store.setSetting('theme', 'dark');
    await store.setSetting('lastModel', { id: 'tiny:test', revision: 'main' });
    await store.setSetting('theme', 'light');
    expect(await store.getSetting<string>('theme')).toBe('light');
    expect(await store.getSetting('lastModel')).toEqual({ id: 'tiny:test', revision: 'main' });
  });
});
