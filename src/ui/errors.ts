// Errors as the UI shows them: a name and a message, whether they were thrown here, in IndexedDB or in the worker
// (comlink rebuilds worker errors as plain Errors that keep the name).
import type { ErrorInfo } from '../worker/api';

export function errorInfo(e: unknown): ErrorInfo {
  if (typeof e === 'object' && e !== null && 'message' in e) {
    const { name, message } = e as { name?: unknown; message?: unknown };
    return { name: typeof name === 'string' && name ? name : 'Error', message: String(message) };
  }
  return { name: 'Error', message: String(e) };
}

/** The GPU went away: the model must be loaded again (the worker opens a new device on the next call). */
export function isDeviceLost(e: ErrorInfo | null | undefined): boolean {
  return e?.name === 'DeviceLostError';
}

/** The user's own cancel, as the worker reports it: news, not a failure. */
export function isCancelled(e: ErrorInfo | null | undefined): boolean {
  return e?.name === 'CancelledError' || e?.name === 'AbortError';
}

/** Thrown here when a second GPU job is started while one runs; the worker has one device and one model. */
export class BusyError extends Error {
  override name = 'BusyError';
}
