// Opens the app's IndexedDB database at the current version, running the migrations that bring older data up to
// it, and behaves well when several tabs hold the database open across an upgrade.
import { openDB, type IDBPDatabase } from 'idb';
import { MigrationError, NewerDataError } from './errors';
import { DB_VERSION, MIGRATIONS, type UpgradeTransaction } from './migrations';
import type { GenpiDB } from './schema';

export type GenpiDatabase = IDBPDatabase<GenpiDB>;

export interface OpenOptions {
  /** An older tab holds the database open and has not let go: the open waits; ask the user to close that tab. */
  onBlocked?: () => void;
  /** This connection was closed so that a newer tab can upgrade: nothing works here any more; ask for a reload. */
  onClosedForUpgrade?: () => void;
  /** Opens at an older version. Only for tests of the migrations. */
  version?: number;
}

export async function openGenpiDB(name = 'genpi', options: OpenOptions = {}): Promise<GenpiDatabase> {
  const version = options.version ?? DB_VERSION;
  let failed: MigrationError | undefined;
  let db: GenpiDatabase | undefined;
  try {
    db = await openDB<GenpiDB>(name, version, {
      upgrade(upgrading, oldVersion, newVersion, tx) {
        migrate(upgrading, tx, oldVersion, newVersion ?? version).catch((e: MigrationError) => {
          failed = e;
          // Aborting rolls back every step of this upgrade: the data stays at oldVersion, readable by a retry.
          // The open rejects with the MigrationError below; the transaction's own AbortError says nothing more.
          tx.done.catch(() => undefined);
          try {
            tx.abort();
          } catch {
            // Already aborted by the failing request itself.
          }
        });
      },
      blocked() {
        if (options.onBlocked) options.onBlocked();
        else console.warn('GenPI: another tab keeps an older version of the saved data open; close it to continue');
      },
      blocking() {
        // Holding on would stall the other tab's upgrade forever; this tab's data may be stale after it anyway.
        db?.close();
        options.onClosedForUpgrade?.();
      },
    });
    return db;
  } catch (e) {
    if (failed) throw failed;
    if ((e as { name?: unknown } | null)?.name === 'VersionError') throw new NewerDataError(DB_VERSION);
    throw e;
  }
}

/** Runs MIGRATIONS[from .. to-1]; steps without records to rewrite run synchronously, as schema changes must. */
async function migrate(db: GenpiDatabase, tx: UpgradeTransaction, from: number, to: number): Promise<void> {
  for (let v = from; v < to; v++) {
    try {
      const pending = MIGRATIONS[v](db, tx);
      if (pending) await pending;
    } catch (e) {
      throw new MigrationError(v + 1, e);
    }
  }
}
