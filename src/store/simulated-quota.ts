// A pretend storage limit, so that tests (unit and e2e) can drive the storage-full path without filling a disk.
// Writes that would take the store's estimated total past the limit fail with the same QuotaExceededError a
// browser raises, before anything is written.
import type { StoreNames } from 'idb';
import type { GenpiDatabase } from './db';
import { estimateBytes } from './quota';
import type { GenpiDB } from './schema';

/** localStorage key read when a store is created: `localStorage.setItem('genpi.simulateQuotaBytes', '1000')`. */
export const SIMULATE_QUOTA_KEY = 'genpi.simulateQuotaBytes';

const STORES = ['datasets', 'runs', 'checkpoints', 'adapters', 'settings'] as const;

/** The limit set in localStorage, or undefined (none set, not a browser, or storage access denied). */
export function readSimulatedQuota(): number | undefined {
  try {
    const raw = (globalThis as { localStorage?: Storage }).localStorage?.getItem(SIMULATE_QUOTA_KEY);
    if (raw === null || raw === undefined || raw.trim() === '') return undefined;
    const bytes = Number(raw);
    return Number.isFinite(bytes) && bytes >= 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes left under `quota`, not counting the record at (store, key), which the write would replace. */
export async function simulatedRemaining(db: GenpiDatabase, quota: number, store: StoreNames<GenpiDB>, key: string): Promise<number> {
  const tx = db.transaction([...STORES], 'readonly');
  let used = 0;
  for (const name of STORES) {
    let cursor = await tx.objectStore(name).openCursor();
    while (cursor) {
      if (!(name === store && cursor.key === key)) used += estimateBytes(cursor.value);
      cursor = await cursor.continue();
    }
  }
  return quota - used;
}

/** Throws a QuotaExceededError DOMException when `needed` bytes do not fit under `quota`. */
export async function checkSimulatedQuota(db: GenpiDatabase, quota: number, store: StoreNames<GenpiDB>, key: string, needed: number): Promise<void> {
  const remaining = await simulatedRemaining(db, quota, store, key);
  if (needed > remaining) {
    throw new DOMException(`Simulated quota of ${quota} bytes exceeded (${SIMULATE_QUOTA_KEY})`, 'QuotaExceededError');
  }
}
