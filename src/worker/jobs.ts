// Long calls share one GPU, one generator (its KV slots) and the model, so they run one at a time in call order;
// each runs under an AbortController kept by its job id, so cancel(jobId) stops it at its next step, waiting or not.
import { CancelledError, RequestError } from './errors';

export class Jobs {
  private readonly running = new Map<string, AbortController>();
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every call queued before it (a failure of one does not stop the next). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(fn);
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Like exclusive, with a signal that cancel(jobId) and abortAll() abort. */
  async run<T>(jobId: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.running.has(jobId)) throw new RequestError(`a job with id "${jobId}" is already running; give each job its own id`);
    const ctl = new AbortController();
    this.running.set(jobId, ctl);
    try {
      return await this.exclusive(() => fn(ctl.signal));
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Unknown and finished ids are ignored: the page may cancel a job that has just ended. */
  cancel(jobId: string): void {
    this.running.get(jobId)?.abort(new CancelledError(jobId));
  }

  abortAll(reason: Error): void {
    for (const ctl of this.running.values()) ctl.abort(reason);
  }
}

/**
 * A progress callback called without waiting: across comlink it returns a promise, and a page that fails to draw
 * one progress event must not stop the job, nor leave an unhandled rejection in the worker.
 */
export function notifier<T>(fn: ((value: T) => unknown) | undefined): (value: T) => void {
  return (value) => {
    if (!fn) return;
    try {
      void Promise.resolve(fn(value)).catch(() => undefined);
    } catch {
      // the same for a plain function that throws
    }
  };
}
