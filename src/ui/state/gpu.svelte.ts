// What the page knows about the WebGPU device: loading, the worker's report, or why there is none.
import type { GpuReport } from '../../worker/api';
import type { EngineClient } from '../../worker/client';

export class GpuState {
  report = $state<GpuReport | null>(null);
  loading = $state(false);

  constructor(private readonly engine: EngineClient) {}

  get ready(): boolean {
    return this.report?.gpu != null && this.report.selfTest != null;
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      this.report = await this.engine.info();
    } catch (e) {
      this.report = { gpu: null, error: { name: 'WorkerError', message: (e as Error).message }, selfTest: null };
    } finally {
      this.loading = false;
    }
  }
}
