// The app's one way into IndexedDB: typed methods per store. Every write goes through `write`, so a full disk
// reaches the caller as a StorageFullError that says what to delete, and never as a half-saved record.
import type { StoreNames } from 'idb';
import type { Checkpoint } from '../train/loop';
import { openGenpiDB, type GenpiDatabase, type OpenOptions } from './db';
import { MissingRecordError } from './errors';
import { availableBytes, deletableItems, estimateBytes, isQuotaError, StorageFullError } from './quota';
import type { GenpiDB, StoredAdapter, StoredCheckpoint, StoredDataset, StoredRun } from './schema';
import { checkSimulatedQuota, readSimulatedQuota, simulatedRemaining } from './simulated-quota';

export interface StoreOptions {
  /**
   * Pretend the storage holds this many bytes in all (estimated sizes), so the storage-full path can be tested.
   * Defaults to localStorage's 'genpi.simulateQuotaBytes' where there is one; undefined: the real limit only.
   */
  quotaBytes?: number;
}

type Store = StoreNames<GenpiDB>;

export class GenpiStore {
  readonly quotaBytes: number | undefined;

  constructor(
    readonly db: GenpiDatabase,
    options: StoreOptions = {},
  ) {
    this.quotaBytes = options.quotaBytes ?? readSimulatedQuota();
  }

  static async open(name = 'genpi', options: StoreOptions & OpenOptions = {}): Promise<GenpiStore> {
    return new GenpiStore(await openGenpiDB(name, options), options);
  }

  close(): void {
    this.db.close();
  }

  // Datasets

  putDataset(dataset: StoredDataset): Promise<void> {
    return this.put('datasets', dataset.id, dataset, `dataset "${dataset.name}"`);
  }

  getDataset(id: string): Promise<StoredDataset | undefined> {
    return this.db.get('datasets', id);
  }

  /** Most recently updated first. */
  async listDatasets(): Promise<StoredDataset[]> {
    return (await this.db.getAllFromIndex('datasets', 'updated')).reverse();
  }

  deleteDataset(id: string): Promise<void> {
    return this.db.delete('datasets', id);
  }

  // Runs and their checkpoints

  putRun(run: StoredRun): Promise<void> {
    return this.put('runs', run.id, run, `run ${run.id}`);
  }

  getRun(id: string): Promise<StoredRun | undefined> {
    return this.db.get('runs', id);
  }

  /** Newest first. */
  async listRuns(): Promise<StoredRun[]> {
    return newestFirst(await this.db.getAll('runs'));
  }

  async runsOfDataset(datasetId: string): Promise<StoredRun[]> {
    return newestFirst(await this.db.getAllFromIndex('runs', 'datasetId', datasetId));
  }

  /** Runs a closed tab or a crash left running or paused: the ones to offer to resume, newest first. */
  async interrupted(): Promise<StoredRun[]> {
    const tx = this.db.transaction('runs', 'readonly');
    const index = tx.store.index('status');
    const [running, paused] = await Promise.all([index.getAll('running'), index.getAll('paused')]);
    return newestFirst([...running, ...paused]);
  }

  /** Deletes the run and its checkpoint together. */
  async deleteRun(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'checkpoints'], 'readwrite');
    await Promise.all([tx.objectStore('runs').delete(id), tx.objectStore('checkpoints').delete(id), tx.done]);
  }

  /** Replaces the run's previous checkpoint: only the latest is kept, since resuming needs no other. */
  saveCheckpoint(runId: string, checkpoint: Checkpoint): Promise<void> {
    const stored: StoredCheckpoint = { ...checkpoint, runId, saved: Date.now() };
    return this.put('checkpoints', runId, stored, `the checkpoint of run ${runId}`);
  }

  latestCheckpoint(runId: string): Promise<StoredCheckpoint | undefined> {
    return this.db.get('checkpoints', runId);
  }

  // Adapters

  putAdapter(adapter: StoredAdapter): Promise<void> {
    return this.put('adapters', adapter.id, adapter, `adapter "${adapter.name}"`);
  }

  getAdapter(id: string): Promise<StoredAdapter | undefined> {
    return this.db.get('adapters', id);
  }

  /** Newest first. */
  async listAdapters(): Promise<StoredAdapter[]> {
    return (await this.db.getAllFromIndex('adapters', 'created')).reverse();
  }

  /** Throws MissingRecordError when there is no such adapter (e.g. another tab deleted it). */
  async renameAdapter(id: string, name: string): Promise<void> {
    const current = await this.getAdapter(id);
    if (!current) throw new MissingRecordError('adapter', id);
    let found = true;
    await this.write('adapters', id, { ...current, name }, `adapter "${name}"`, async () => {
      // Read again inside the write transaction, so a change another tab made meanwhile is kept.
      const tx = this.db.transaction('adapters', 'readwrite');
      const renaming = (async () => {
        const latest = await tx.store.get(id);
        if (latest) await tx.store.put({ ...latest, name });
        else found = false;
      })();
      // Both, so that a refused put (which also aborts the transaction) leaves no unhandled rejection behind.
      await Promise.all([renaming, tx.done]);
    });
    if (!found) throw new MissingRecordError('adapter', id);
  }

  deleteAdapter(id: string): Promise<void> {
    return this.db.delete('adapters', id);
  }

  // Settings: small values by name.

  getSetting<T>(key: string): Promise<T | undefined> {
    return this.db.get('settings', key) as Promise<T | undefined>;
  }

  setSetting(key: string, value: unknown): Promise<void> {
    return this.write('settings', key, value, `setting "${key}"`, () => this.db.put('settings', value, key));
  }

  private put<S extends 'datasets' | 'runs' | 'checkpoints' | 'adapters'>(store: S, key: string, value: GenpiDB[S]['value'], what: string): Promise<void> {
    return this.write(store, key, value, what, () => this.db.put(store, value));
  }

  /**
   * Throws the StorageFullError a write of `needed` bytes would meet, for a file made in memory before the page hands
   * it to the browser (a transformers.js export): the same message, with what could be deleted to make room.
   */
  async checkRoom(what: string, needed: number): Promise<void> {
    const available = this.quotaBytes !== undefined ? await simulatedRemaining(this.db, this.quotaBytes, 'settings', '') : await availableBytes();
    if (available !== undefined && needed > available) throw new StorageFullError(what, needed, available, await deletableItems(this.db));
  }

  /** Runs `apply` (one write transaction) and turns a refusal for lack of space into a StorageFullError. */
  private async write(store: Store, key: string, value: unknown, what: string, apply: () => Promise<unknown>): Promise<void> {
    const needed = estimateBytes(value);
    try {
      if (this.quotaBytes !== undefined) await checkSimulatedQuota(this.db, this.quotaBytes, store, key, needed);
      await apply();
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      const available = this.quotaBytes !== undefined ? await simulatedRemaining(this.db, this.quotaBytes, store, key) : await availableBytes();
      throw new StorageFullError(what, needed, available, await deletableItems(this.db, { store, id: key }), { cause: e });
    }
  }
}

function newestFirst(runs: StoredRun[]): StoredRun[] {
  return runs.sort((a, b) => b.created - a.created);
}
