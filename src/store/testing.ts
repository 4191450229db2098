// Records for the store's tests: small, valid enough for IndexedDB, with the fields a test cares about overridable.
import { IDBFactory } from 'fake-indexeddb';
import type { StoredAdapter, StoredDataset, StoredRun } from './schema';

/** A fresh, empty in-memory IndexedDB for each test (fake-indexeddb/auto must be imported for the IDB globals). */
export function freshIndexedDB(): void {
  globalThis.indexedDB = new IDBFactory();
}

const MODEL = { id: 'tiny:test', weightHash: 'abc123' };

export function testDataset(over: Partial<StoredDataset> = {}): StoredDataset {
  return {
    id: 'd1',
    name: 'support bot',
    created: 1000,
    updated: 1000,
    model: MODEL,
    prompt: { text: 'You are a support bot.', environment: { name: 'user', description: 'a customer', endMarker: '[END]' }, actionPattern: '' },
    settings: { samples: 2, heldout: 1, seed: 1 } as StoredDataset['settings'],
    records: [],
    figures: null,
    ...over,
  };
}

export function testRun(over: Partial<StoredRun> = {}): StoredRun {
  return {
    id: 'r1',
    datasetId: 'd1',
    created: 1000,
    updated: 1000,
    model: MODEL,
    settings: { epochs: 1, batchSize: 2, lr: 1e-4 } as StoredRun['settings'],
    status: 'done',
    curve: [],
    totalSteps: 10,
    adapterId: null,
    error: null,
    ...over,
  };
}

export function testAdapter(over: Partial<StoredAdapter> = {}): StoredAdapter {
  return {
    id: 'a1',
    name: 'adapter one',
    created: 1000,
    model: MODEL,
    spec: { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v'] },
    params: Float32Array.from([1, 2, 3, 4]),
    meta: { format: 'genpi-adapter', version: 1 } as StoredAdapter['meta'],
    runId: null,
    evaluation: null,
    ...over,
  };
}

export function ramp(n: number, start = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => start + i * 0.5);
}
