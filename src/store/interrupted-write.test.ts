// A write to IndexedDB cut short (the tab closed or the browser killed mid-transaction, so the transaction aborts)
// or refused (a value the browser cannot store) must leave the record it was replacing as it was: an adapter or a
// checkpoint is replaced in one transaction, never deleted first. The store is opened afresh afterwards, as a
// reload would.
import 'fake-indexeddb/auto';
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { GenpiStore } from './repo';
import { freshIndexedDB, ramp, testAdapter } from './testing';

beforeEach(freshIndexedDB);
afterEach(() => vi.restoreAllMocks());

/** The next put is accepted, then its transaction aborts before it commits, as when the page goes away. */
function abortAfterNextPut() {
  const put = FakeObjectStore.prototype.put;
  vi.spyOn(FakeObjectStore.prototype, 'put').mockImplementationOnce(function (this: InstanceType<typeof FakeObjectStore>, ...args: Parameters<typeof put>) {
    const request = put.apply(this, args);
    this.transaction.abort();
    return request;
  });
}

async function reopened(): Promise<GenpiStore> {
  return GenpiStore.open('interrupted');
}

it('an adapter write cut short leaves the previous adapter whole', async () => {
  const store = await reopened();
  await store.putAdapter(testAdapter({ id: 'a', name: 'good', params: ramp(500) }));
  abortAfterNextPut();
  await expect(store.putAdapter(testAdapter({ id: 'a', name: 'newer', params: ramp(800, 7) }))).rejects.toThrow();
  store.close();

  const after = await reopened();
  const kept = await after.getAdapter('a');
  expect(kept?.name).toBe('good');
  expect(kept?.params).toEqual(ramp(500));
  expect((await after.listAdapters()).map((a) => a.id)).toEqual(['a']);
  after.close();
});

it('a checkpoint write cut short leaves the previous checkpoint to resume from', async () => {
  const store = await reopened();
  const checkpoint = (step: number) => ({ step, params: ramp(300, step), m: ramp(300), v: ramp(300), curve: [] });
  await store.saveCheckpoint('r1', checkpoint(10));
  abortAfterNextPut();
  await expect(store.saveCheckpoint('r1', checkpoint(20))).rejects.toThrow();
  store.close();

  const after = await reopened();
  const kept = await after.latestCheckpoint('r1');
  expect(kept?.step).toBe(10);
  expect(kept?.params).toEqual(ramp(300, 10));
  after.close();
});

it('an adapter the browser refuses to store leaves the previous one whole', async () => {
  const store = await reopened();
  await store.putAdapter(testAdapter({ id: 'a', name: 'good', params: ramp(500) }));
  // A function cannot be cloned into IndexedDB: the put throws DataCloneError before anything is written.
  const unstorable = { ...testAdapter({ id: 'a', name: 'newer' }), evaluation: { score: () => 1 } } as unknown as ReturnType<typeof testAdapter>;
  await expect(store.putAdapter(unstorable)).rejects.toThrow(/clone/i);
  store.close();

  const after = await reopened();
  expect((await after.getAdapter('a'))?.name).toBe('good');
  expect((await after.getAdapter('a'))?.params).toEqual(ramp(500));
  after.close();
});
