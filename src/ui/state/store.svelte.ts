// The IndexedDB store as the page uses it: opened once at start, every write through `save`, which shows a refused
// write (StorageFullError says what to delete) without throwing, so the caller's in-memory state stays as it was.
import { GenpiStore } from '../../store/repo';
import type { ErrorInfo, ModelSource, ModelSummary } from '../../worker/api';
import { shapeOf, type ModelShape } from '../adapter-io';
import { errorInfo } from '../errors';

export class StoreState {
  store = $state.raw<GenpiStore | null>(null);
  /** Opening failed (private mode, a newer version's data): the app works, but nothing is kept. */
  openError = $state<ErrorInfo | null>(null);
  /** The last refused write, with what was being saved. */
  saveError = $state<(ErrorInfo & { what: string }) | null>(null);
  /** Another tab upgraded the database: this one must reload. */
  closed = $state(false);

  async open(): Promise<void> {
    try {
      this.store = await GenpiStore.open('genpi', { onClosedForUpgrade: () => (this.closed = true) });
    } catch (e) {
      this.openError = errorInfo(e);
    }
  }

  /** Runs a write; false (and the error shown) when it was refused or there is no store. */
  async save(what: string, write: (s: GenpiStore) => Promise<void>): Promise<boolean> {
    if (!this.store) return false;
    try {
      await write(this.store);
      if (this.saveError?.what === what) this.saveError = null;
      return true;
    } catch (e) {
      this.saveError = { ...errorInfo(e), what };
      return false;
    }
  }

  /** A read that may fail (or find no store) without stopping the caller. */
  async read<T>(read: (s: GenpiStore) => Promise<T>): Promise<T | undefined> {
    if (!this.store) return undefined;
    try {
      return await read(this.store);
    } catch (e) {
      this.saveError = { ...errorInfo(e), what: 'reading saved data' };
      return undefined;
    }
  }
}

/** What the app remembers about a model it has loaded: its shape (adapter export needs it) and how to load it again. */
export interface KnownModel {
  shape: ModelShape;
  /** Hub and tiny sources; null for a folder, which must be picked again. */
  source: ModelSource | null;
}

const knownKey = (weightHash: string) => `model:${weightHash}`;

export async function rememberModel(store: StoreState, summary: ModelSummary, source: ModelSource): Promise<void> {
  const known: KnownModel = { shape: shapeOf(summary), source: source.kind === 'folder' ? null : source };
  await store.save(`what is known about ${summary.source}`, (s) => s.setSetting(knownKey(summary.weightHash), known));
}

export async function knownModel(store: StoreState, weightHash: string): Promise<KnownModel | undefined> {
  return store.read((s) => s.getSetting<KnownModel>(knownKey(weightHash)));
}
