import 'fake-indexeddb/auto';
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatBytes } from '../model/cache';
import { estimateBytes, isQuotaError, StorageFullError } from './quota';
import { GenpiStore } from './repo';
import { SIMULATE_QUOTA_KEY } from './simulated-quota';
import { freshIndexedDB, ramp, testAdapter, testDataset, testRun } from './testing';

beforeEach(freshIndexedDB);
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const checkpoint = (n: number) => ({ step: 3, params: ramp(n), m: ramp(n), v: ramp(n), curve: [] });

async function rejection(p: Promise<unknown>): Promise<StorageFullError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(StorageFullError);
  return e as StorageFullError;
}

describe('estimateBytes', () => {
  it('counts typed arrays by their bytes and the rest as JSON', () => {
    expect(estimateBytes({ a: new Float32Array(10) })).toBe(40 + '{"a":null}'.length);
    expect(estimateBytes({ name: 'x', m: new Uint8Array(3), nested: [{ v: new Float64Array(2) }] })).toBe(3 + 16 + '{"name":"x","m":null,"nested":[{"v":null}]}'.length);
    expect(estimateBytes(undefined)).toBe(0);
  });
});

describe('isQuotaError', () => {
  it('knows DOMExceptions and plain errors by name', () => {
    expect(isQuotaError(new DOMException('full', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError(Object.assign(new Error('full'), { name: 'QuotaExceededError' }))).toBe(true);
    expect(isQuotaError(new DOMException('x', 'DataCloneError'))).toBe(false);
    expect(isQuotaError('QuotaExceededError')).toBe(false);
    expect(isQuotaError(null)).toBe(false);
  });
});

describe('a full storage', () => {
  it('refuses a write over the simulated quota with what it needs and what to delete, keeping the old value', async () => {
    const store = await GenpiStore.open('full', { quotaBytes: 30_000 });
    await store.putDataset(testDataset({ name: 'support bot' }));
    await store.putAdapter(testAdapter({ id: 'mine', name: 'mine', params: ramp(1000) }));
    await store.putAdapter(testAdapter({ id: 'other', name: 'other', params: ramp(200) }));
    await store.putRun(testRun({ id: 'finished', status: 'done' }));
    await store.saveCheckpoint('finished', checkpoint(1000));
    await store.putRun(testRun({ id: 'live', status: 'paused' }));
    await store.saveCheckpoint('live', checkpoint(400));

    const bigger = testAdapter({ id: 'mine', name: 'mine', params: ramp(4000) });
    const e = await rejection(store.putAdapter(bigger));
    expect(e.name).toBe('StorageFullError');
    expect(e.needed).toBe(estimateBytes(bigger));
    expect(e.available).toBeGreaterThan(0);
    expect(e.available).toBeLessThan(e.needed);
    expect(e.deletable.map((d) => d.label)).toEqual(['checkpoint of done run finished on dataset "support bot"', 'adapter "other"', 'dataset "support bot"']);
    expect(e.message).toContain(`Not enough storage to save adapter "mine": it needs about ${formatBytes(e.needed)} and ${formatBytes(e.available!)} is available`);
    expect(e.message).toMatch(/checkpoint of done run finished on dataset "support bot" \(\d+\.\d KiB\), adapter "other" \(\d+\.\d KiB\), dataset "support bot" \(\d+ bytes\)/);
    expect(e.message).toContain('Nothing saved before was lost');
    expect(e.message).not.toContain('live'); // a paused run's checkpoint is needed to resume it

    expect((await store.getAdapter('mine'))?.params).toEqual(ramp(1000));
    await store.setSetting('theme', 'dark'); // small writes still fit
    await store.deleteRun('finished');
    await store.putAdapter(bigger); // and deleting made room
    expect((await store.getAdapter('mine'))?.params).toEqual(ramp(4000));
    store.close();
  });

  it('reads the simulated quota from localStorage when the store is created', async () => {
    vi.stubGlobal('localStorage', { getItem: (k: string) => (k === SIMULATE_QUOTA_KEY ? '1000' : null) });
    const store = await GenpiStore.open('local');
    expect(store.quotaBytes).toBe(1000);
    const e = await rejection(store.putAdapter(testAdapter({ params: ramp(1000) })));
    expect(e.message).toMatch(/needs about 4\.\d KiB and 1000 bytes is available\. Nothing saved by GenPI can be deleted/);
    expect(await store.getAdapter('a1')).toBeUndefined();
    store.close();

    vi.stubGlobal('localStorage', { getItem: () => 'lots' });
    expect(new GenpiStore(store.db).quotaBytes).toBeUndefined();
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    expect(new GenpiStore(store.db).quotaBytes).toBeUndefined();
  });

  it('turns the browser\'s own QuotaExceededError into StorageFullError, with navigator.storage\'s free space', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ quota: 10_000_000, usage: 9_000_000 }) } });
    const store = await GenpiStore.open('real');
    await store.putAdapter(testAdapter({ name: 'kept' }));
    const put = vi.spyOn(FakeObjectStore.prototype, 'put');

    put.mockImplementationOnce(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    const e = await rejection(store.putDataset(testDataset()));
    expect(e.message).toContain(`is available`);
    expect(e.message).toContain(formatBytes(1_000_000));
    expect(e.message).toContain('adapter "kept"');
    expect(e.cause).toBeInstanceOf(DOMException);

    put.mockImplementationOnce(() => {
      throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    });
    await rejection(store.setSetting('theme', 'dark'));

    put.mockImplementationOnce(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    await rejection(store.renameAdapter('a1', 'a much longer name'));
    expect((await store.getAdapter('a1'))?.name).toBe('kept');

    const other = new DOMException('cannot clone', 'DataCloneError');
    put.mockImplementationOnce(() => {
      throw other;
    });
    await expect(store.putRun(testRun())).rejects.toBe(other);
    expect(await store.getDataset('d1')).toBeUndefined();
    store.close();
  });
});
