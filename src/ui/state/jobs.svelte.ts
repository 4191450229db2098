// One GPU job at a time: the worker holds one device and one model, so synthesis, training, evaluation, chat and
// model loading take turns. Starting a second job says what is running instead of queuing behind it silently.
import { BusyError } from '../errors';

export class JobGate {
  /** What is running, in words ("training"), or null. */
  label = $state<string | null>(null);

  async run<T>(label: string, job: () => Promise<T>): Promise<T> {
    if (this.label) throw new BusyError(`${this.label} is running; wait for it to finish or cancel it first`);
    this.label = label;
    try {
      return await job();
    } finally {
      this.label = null;
    }
  }
}
