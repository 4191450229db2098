// The adapters library: every trained or imported adapter in IndexedDB, with rename, delete, export as a PEFT .zip
// and import from one. Kept in memory too, so an adapter whose save was refused (storage full) is not lost.
import { adapterWarning } from '../../genpi/adapter-meta';
import type { EvalFigures } from '../../genpi/evaluate';
import type { StoredAdapter } from '../../store/schema';
import { unzipFiles, zipFiles } from '../../store/zip';
import type { ErrorInfo } from '../../worker/api';
import { exportFiles, importedMeta, importFiles, refOf, shapeOf, WrongModelError, type ModelShape } from '../adapter-io';
import { download, safeFileName } from '../download';
import { errorInfo } from '../errors';
import { newId } from '../format';
import type { ModelState } from './model.svelte';
import { knownModel, type StoreState } from './store.svelte';

export class LibraryState {
  adapters = $state.raw<StoredAdapter[]>([]);
  error = $state<ErrorInfo | null>(null);
  /** A short confirmation of the last action ("exported ..."), for the user and for tests. */
  notice = $state('');
  working = $state(false);

  constructor(
    private readonly store: StoreState,
    private readonly models: ModelState,
  ) {}

  get(id: string | null): StoredAdapter | undefined {
    return this.adapters.find((a) => a.id === id);
  }

  /** What this adapter can reveal about its prompt: its variant decides (adapter-meta's adapterWarning). */
  warning(a: StoredAdapter): string {
    return adapterWarning(a.meta);
  }

  async refresh(): Promise<void> {
    const saved = await this.store.read((s) => s.listAdapters());
    if (!saved) return;
    // Adapters that exist only here (their save was refused) stay in the list.
    const unsaved = this.adapters.filter((a) => !saved.some((b) => b.id === a.id));
    this.adapters = [...unsaved, ...saved].sort((a, b) => b.created - a.created);
  }

  /** Adds or replaces an adapter here and in the store. */
  async put(a: StoredAdapter): Promise<boolean> {
    this.adapters = [a, ...this.adapters.filter((b) => b.id !== a.id)].sort((x, y) => y.created - x.created);
    return this.store.save(`adapter "${a.name}"`, (s) => s.putAdapter(a));
  }

  async saveEvaluation(id: string, figures: EvalFigures): Promise<boolean> {
    const a = this.get(id);
    if (!a) return false;
    const meta = { ...a.meta, evaluation: figures as unknown as Record<string, unknown> };
    return this.put({ ...a, evaluation: figures, meta });
  }

  async rename(id: string, name: string): Promise<void> {
    const a = this.get(id);
    name = name.trim();
    if (!a || !name || name === a.name) return;
    this.adapters = this.adapters.map((b) => (b.id === id ? { ...b, name } : b));
    await this.store.save(`the name of adapter "${name}"`, (s) => s.renameAdapter(id, name));
  }

  async remove(id: string): Promise<void> {
    this.error = null;
    try {
      await this.store.store?.deleteAdapter(id);
      this.adapters = this.adapters.filter((a) => a.id !== id);
    } catch (e) {
      this.error = errorInfo(e);
    }
  }

  /** The shape of the adapter's base model: the loaded one, or one remembered from an earlier load. */
  private async shapeFor(a: StoredAdapter): Promise<ModelShape> {
    const s = this.models.summary;
    if (s && s.weightHash === a.model.weightHash) return shapeOf(s);
    const known = await knownModel(this.store, a.model.weightHash);
    if (known) return known.shape;
    throw new WrongModelError(`Load ${a.model.id} once (step 1) so that the layout of adapter "${a.name}" is known, then export again.`);
  }

  async exportZip(id: string): Promise<void> {
    const a = this.get(id);
    if (!a) return;
    this.error = null;
    try {
      const zip = zipFiles(exportFiles(a, await this.shapeFor(a)));
      download(safeFileName(a.name, 'zip'), zip as BlobPart, 'application/zip');
      this.notice = `Exported "${a.name}" (PEFT layout). ${this.warning(a)}`;
    } catch (e) {
      this.error = errorInfo(e);
    }
  }

  async importZip(file: File): Promise<void> {
    this.error = null;
    this.working = true;
    try {
      const s = this.models.summary;
      if (!s) throw new WrongModelError('Load the adapter\'s base model first (step 1): an adapter only fits the model it was trained on.');
      const files = unzipFiles(new Uint8Array(await file.arrayBuffer()));
      const got = await importFiles(files, shapeOf(s), file.name);
      const now = Date.now();
      const a: StoredAdapter = {
        id: newId('adapter'), name: file.name.replace(/\.zip$/i, ''), created: now, model: refOf(s), spec: got.spec,
        params: got.params, meta: got.meta ?? importedMeta(shapeOf(s), got.spec, now), runId: null,
        evaluation: (got.meta?.evaluation as unknown as EvalFigures | null) ?? null,
      };
      await this.put(a);
      this.notice = `Imported "${a.name}" for ${s.source}.`;
    } catch (e) {
      this.error = errorInfo(e);
    } finally {
      this.working = false;
    }
  }
}
