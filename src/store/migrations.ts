// The history of the database's shape, one step per version, applied in order inside the upgrade transaction.
// Steps are never edited once shipped: a browser may hold data from any earlier version, so a change is a new step.
import type { IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { GenpiDB, StoredAdapter } from './schema';

export type UpgradeTransaction = IDBPTransaction<GenpiDB, StoreNames<GenpiDB>[], 'versionchange'>;

/**
 * One version step. Schema changes (stores, indexes) must run synchronously in the step itself; a step that also
 * rewrites records returns a promise, and may await only requests of `tx` (awaiting anything else, a fetch or a
 * timer, lets the upgrade transaction commit early and the following requests fail).
 */
export type Migration = (db: IDBPDatabase<GenpiDB>, tx: UpgradeTransaction) => void | Promise<void>;

/** Version 1: the stores, no indexes. */
function createStores(db: IDBPDatabase<GenpiDB>): void {
  db.createObjectStore('datasets', { keyPath: 'id' });
  db.createObjectStore('runs', { keyPath: 'id' });
  db.createObjectStore('checkpoints', { keyPath: 'runId' });
  db.createObjectStore('adapters', { keyPath: 'id' });
  // Out-of-line keys: a setting's value is any structured-clonable thing, the key is its name.
  db.createObjectStore('settings');
}

/** Version 2: the indexes the lists sort and filter by, and adapters gain `evaluation`. */
async function addIndexesAndEvaluation(_db: IDBPDatabase<GenpiDB>, tx: UpgradeTransaction): Promise<void> {
  tx.objectStore('datasets').createIndex('updated', 'updated');
  tx.objectStore('runs').createIndex('status', 'status');
  tx.objectStore('runs').createIndex('datasetId', 'datasetId');
  tx.objectStore('adapters').createIndex('created', 'created');

  // The pattern for record migrations: walk the store with a cursor in the upgrade transaction and rewrite each
  // old-shaped record in place. Old records are typed as what they were then, not as the current schema.
  type AdapterV1 = Omit<StoredAdapter, 'evaluation'> & { evaluation?: StoredAdapter['evaluation'] };
  let cursor = await tx.objectStore('adapters').openCursor();
  while (cursor) {
    const old = cursor.value as AdapterV1;
    if (old.evaluation === undefined) await cursor.update({ ...old, evaluation: null });
    cursor = await cursor.continue();
  }
}

/** MIGRATIONS[v] takes the database from version v to v + 1. */
export const MIGRATIONS: readonly Migration[] = [createStores, addIndexesAndEvaluation];

/** The version this build of the app opens: one per migration step. */
export const DB_VERSION = MIGRATIONS.length;
