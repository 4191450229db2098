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

  /** A software renderer (SwiftShader, llvmpipe/lavapipe, Microsoft's Basic Render Driver): everything runs on the CPU. */
  get software(): boolean {
    return /swiftshader|llvmpipe|lavapipe|software|basic render/i.test(this.report?.gpu?.name ?? '');
  }

  /** No WebGPU at all (or no adapter): nothing on the page can run, so the page says how to get it instead. */
  get blocking(): boolean {
    const name = this.report?.error?.name;
    return name === 'NoWebGpuError' || name === 'NoAdapterError';
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
