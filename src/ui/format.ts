// How numbers, sizes, durations and dates read in the UI: one place, so every section says "1.2 MiB" and "3 min 05 s"
// the same way.
export { formatBytes } from '../model/cache';

/** "12 s", "3 min 05 s", "1 h 02 min"; "—" for an unknown or endless duration. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(s / 3600);
  return `${h} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A share in [0, 1] as a percentage with one decimal; "—" when there is none. */
export function formatShare(x: number | null | undefined): string {
  return x == null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`;
}

/** A metric with a fixed number of decimals; "—" when there is none. */
export function formatFixed(x: number | null | undefined, digits = 3): string {
  return x == null || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** Large counts with thousands separators (parameters, FLOPs, tokens). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  return Math.round(n).toLocaleString('en-US');
}

/** Local date and time to the minute, "2025-03-14 09:12", sortable and unambiguous across locales. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Ids for jobs and records; randomUUID needs a secure context, which a LAN address over http is not. */
export function newId(prefix: string): string {
  const uuid = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return `${prefix}-${uuid}`;
}
