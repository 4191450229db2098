// When the browser refuses a write for lack of space, the user needs to know how much was needed and what they
// could delete to make room; StorageFullError carries both. IndexedDB transactions are atomic, so the refused
// write changed nothing: the previous value under the same key is still there.
import { formatBytes } from '../model/cache';
import type { GenpiDatabase } from './db';
import { StoreError } from './errors';

/** Something the user could delete to make room, with what deleting it would free (estimated). */
export interface Deletable {
  store: 'checkpoints' | 'datasets' | 'adapters';
  id: string;
  /** For messages: 'adapter "name"', 'dataset "name"', 'checkpoint of done run ...'. */
  label: string;
  bytes: number;
}

/** How many of the largest deletable items the message names. */
const LISTED = 5;

export class StorageFullError extends StoreError {
  override name = 'StorageFullError';
  constructor(
    /** What was being saved, e.g. 'adapter "support bot"'. */
    readonly what: string,
    readonly needed: number,
    /** Free bytes as the browser reports them; undefined where it does not say. */
    readonly available: number | undefined,
    /** Largest first. */
    readonly deletable: Deletable[],
    options?: ErrorOptions,
  ) {
    const free = available === undefined ? '' : ` and ${formatBytes(Math.max(0, available))} is available`;
    const listed = deletable.slice(0, LISTED).map((d) => `${d.label} (${formatBytes(d.bytes)})`);
    const advice = listed.length
      ? `Delete some of these to make room, then try again: ${listed.join(', ')}.`
      : 'Nothing saved by GenPI can be deleted to make room; free space in the browser (other sites\' data) or on the disk, then try again.';
    super(`Not enough storage to save ${what}: it needs about ${formatBytes(needed)}${free}. ${advice} Nothing saved before was lost.`, options);
  }
}

/** Browsers raise QuotaExceededError as a DOMException; fake-indexeddb and older engines may use plain errors. */
export function isQuotaError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'QuotaExceededError';
}

/** Estimated bytes of a stored value: its typed arrays' bytes plus the JSON length of everything else. */
export function estimateBytes(value: unknown): number {
  let binary = 0;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (ArrayBuffer.isView(v)) {
      binary += v.byteLength;
      return null;
    }
    if (v instanceof ArrayBuffer) {
      binary += v.byteLength;
      return null;
    }
    return v;
  });
  return binary + (json?.length ?? 0);
}

/** Free bytes for this origin, where the browser says (navigator.storage.estimate); undefined elsewhere. */
export async function availableBytes(): Promise<number | undefined> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (!storage?.estimate) return undefined;
  try {
    const { quota, usage } = await storage.estimate();
    return quota === undefined || usage === undefined ? undefined : quota - usage;
  } catch {
    return undefined;
  }
}

/**
 * What the user could delete, largest first: checkpoints of finished runs (paused and running ones are needed to
 * resume), datasets and adapters. `except` leaves out the record being written, which is no help to delete.
 */
export async function deletableItems(db: GenpiDatabase, except?: { store: string; id: string }): Promise<Deletable[]> {
  const tx = db.transaction(['runs', 'checkpoints', 'datasets', 'adapters'], 'readonly');
  const [runs, checkpoints, datasets, adapters] = await Promise.all([
    tx.objectStore('runs').getAll(),
    tx.objectStore('checkpoints').getAll(),
    tx.objectStore('datasets').getAll(),
    tx.objectStore('adapters').getAll(),
  ]);
  const runById = new Map(runs.map((r) => [r.id, r]));
  const datasetName = new Map(datasets.map((d) => [d.id, d.name]));
  const items: Deletable[] = [];
  for (const c of checkpoints) {
    const run = runById.get(c.runId);
    if (run && (run.status === 'running' || run.status === 'paused')) continue;
    const status = run ? `${run.status} ` : 'deleted ';
    const on = run && datasetName.has(run.datasetId) ? ` on dataset "${datasetName.get(run.datasetId)}"` : '';
    items.push({ store: 'checkpoints', id: c.runId, label: `checkpoint of ${status}run ${c.runId}${on}`, bytes: estimateBytes(c) });
  }
  for (const d of datasets) items.push({ store: 'datasets', id: d.id, label: `dataset "${d.name}"`, bytes: estimateBytes(d) });
  for (const a of adapters) items.push({ store: 'adapters', id: a.id, label: `adapter "${a.name}"`, bytes: estimateBytes(a) });
  return items.filter((i) => !(except && i.store === except.store && i.id === except.id)).sort((a, b) => b.bytes - a.bytes);
}
