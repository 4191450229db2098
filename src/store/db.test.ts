import 'fake-indexeddb/auto';
import { openDB, type StoreNames } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { openGenpiDB, type GenpiDatabase } from './db';
import { DB_VERSION } from './migrations';
import { MigrationError, NewerDataError } from './errors';
import type { GenpiDB } from './schema';
import { freshIndexedDB, testAdapter, testDataset } from './testing';

beforeEach(freshIndexedDB);

const STORES = ['adapters', 'checkpoints', 'datasets', 'runs', 'settings'] as const;
const INDEXES: Record<string, string[]> = {
  datasets: ['updated'],
  runs: ['datasetId', 'status'],
  checkpoints: [],
  adapters: ['created'],
  settings: [],
};

function indexesOf(db: GenpiDatabase, store: StoreNames<GenpiDB>): string[] {
  return [...db.transaction(store).store.indexNames].sort();
}

describe('openGenpiDB', () => {
  it('creates every store and index at the current version', async () => {
    const db = await openGenpiDB('fresh');
    expect(DB_VERSION).toBe(2);
    expect(db.version).toBe(2);
    expect([...db.objectStoreNames].sort()).toEqual(STORES);
    for (const store of STORES) expect(indexesOf(db, store), store).toEqual(INDEXES[store]);
    expect(db.transaction('checkpoints').store.keyPath).toBe('runId');
    expect(db.transaction('adapters').store.keyPath).toBe('id');
    expect(db.transaction('settings').store.keyPath).toBeNull();
    db.close();
  });

  it('migrates a version 1 database: indexes added, adapters gain evaluation null, data kept', async () => {
    const v1 = await openGenpiDB('old', { version: 1 });
    expect(indexesOf(v1, 'datasets')).toEqual([]);
    const { evaluation: _dropped, ...oldAdapter } = testAdapter({ params: Float32Array.from([0.25, -1.5]) });
    const rated = testAdapter({ id: 'a2', evaluation: { inputs: 3 } as never });
    await v1.put('adapters', oldAdapter as never);
    await v1.put('adapters', rated);
    await v1.put('datasets', testDataset());
    await v1.put('settings', 'dark', 'theme');
    v1.close();

    const db = await openGenpiDB('old');
    expect(db.version).toBe(2);
    for (const store of STORES) expect(indexesOf(db, store), store).toEqual(INDEXES[store]);
    const migrated = await db.get('adapters', 'a1');
    expect(migrated).toHaveProperty('evaluation', null);
    expect(migrated?.params).toEqual(Float32Array.from([0.25, -1.5]));
    expect(migrated?.name).toBe('adapter one');
    expect((await db.get('adapters', 'a2'))?.evaluation).toEqual({ inputs: 3 });
    expect(await db.get('datasets', 'd1')).toEqual(testDataset());
    expect(await db.getAllFromIndex('datasets', 'updated')).toHaveLength(1);
    expect(await db.get('settings', 'theme')).toBe('dark');
    db.close();
  });

  it('closes an old connection that blocks an upgrade, and says so', async () => {
    let closed = 0;
    const old = await openGenpiDB('tabs', { version: 1, onClosedForUpgrade: () => closed++ });
    const db = await openGenpiDB('tabs');
    expect(closed).toBe(1);
    expect(db.version).toBe(2);
    expect(() => old.transaction('datasets')).toThrow();
    db.close();
  });

  it('reports a blocked upgrade and completes once the other connection closes', async () => {
    (await openGenpiDB('stuck', { version: 1 })).close();
    const stubborn = await openDB('stuck', 1); // no `blocking` handler: it never lets go by itself
    let blocked = 0;
    const opening = openGenpiDB('stuck', {
      onBlocked: () => {
        blocked++;
        stubborn.close();
      },
    });
    const db = await opening;
    expect(blocked).toBe(1);
    expect(db.version).toBe(2);
    db.close();
  });

  it('rolls a failing migration back and says which version failed', async () => {
    // A version 1 database without the stores version 2 indexes: the step fails half way.
    (await openDB('broken', 1, { upgrade: (d) => void d.createObjectStore('datasets', { keyPath: 'id' }) })).close();
    const opening = openGenpiDB('broken');
    await expect(opening).rejects.toBeInstanceOf(MigrationError);
    await expect(opening).rejects.toThrow(/Upgrading saved data to version 2 failed.*nothing was changed/);
    const after = await openDB('broken');
    expect(after.version).toBe(1);
    expect([...after.objectStoreNames]).toEqual(['datasets']);
    expect([...after.transaction('datasets').store.indexNames]).toEqual([]);
    after.close();
  });

  it('refuses data from a newer version with NewerDataError', async () => {
    (await openDB('future', 3)).close();
    const opening = openGenpiDB('future');
    await expect(opening).rejects.toBeInstanceOf(NewerDataError);
    await expect(opening).rejects.toThrow(/newer version of GenPI.*reload/);
  });
});
