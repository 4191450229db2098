// One GPU job at a time: the worker holds one device and one model, so synthesis, training, evaluation, chat and
// model loading take turns. Starting a second job says what is running instead of queuing behind it silently.
import type { EngineClient } from '../../worker/client';
import { BusyError } from '../errors';
import { newId } from '../format';

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

/**
 * A panel's one cancellable worker job (synthesis, evaluation, a chat reply): a fresh job id per run, `running`
 * while it lasts, taken through the gate, and cancel() that reaches the worker.
 */
export class WorkerJob {
  running = $state(false);
  private id: string | null = null;

  constructor(
    private readonly engine: EngineClient,
    private readonly gate: JobGate,
    private readonly kind: string,
    private readonly label: string,
  ) {}

  async run<T>(work: (jobId: string) => Promise<T>): Promise<T> {
    const jobId = newId(this.kind);
    this.id = jobId;
    this.running = true;
    try {
      return await this.gate.run(this.label, () => work(jobId));
    } finally {
      this.running = false;
      this.id = null;
    }
  }

  cancel(): void {
    if (this.id) void this.engine.cancel(this.id);
  }
}
