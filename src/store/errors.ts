// Typed errors of the IndexedDB store: each says what went wrong and what the user can do about it, so the UI can
// show the message as it is.

export class StoreError extends Error {
  override name = 'StoreError';
}

/** A record the caller named (by id) is not in the store, e.g. renaming an adapter another tab just deleted. */
export class MissingRecordError extends StoreError {
  override name = 'MissingRecordError';
  constructor(
    /** What kind of record, in words: 'adapter', 'run'. */
    readonly kind: string,
    readonly id: string,
  ) {
    super(`No ${kind} with id "${id}": it may have been deleted in another tab; reload the list and try again`);
  }
}

/** Upgrading the saved data to this version of the app failed; the upgrade was rolled back, nothing was changed. */
export class MigrationError extends StoreError {
  override name = 'MigrationError';
  constructor(
    readonly toVersion: number,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`Upgrading saved data to version ${toVersion} failed (${why}); nothing was changed. reload the page to retry, and report this message if it keeps failing`, { cause });
  }
}

/** The saved data is at a newer version than this build knows (a newer app ran in this browser, then an older one). */
export class NewerDataError extends StoreError {
  override name = 'NewerDataError';
  constructor(readonly knownVersion: number) {
    super(`The saved data was written by a newer version of GenPI than this one (which reads up to version ${knownVersion}); reload the page to get the latest app`);
  }
}
