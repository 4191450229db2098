// The one typed contract between the page and the engine worker (comlink). Every call the UI makes is here;
// later issues grow it (models, synthesis, training, generation).
import type { GpuSummary } from '../gpu/device';
import type { Diff } from '../ref/compare';

/** Errors cross the worker boundary as plain data: the name picks the UI's message, the text is shown as is. */
export interface ErrorInfo {
  name: string;
  message: string;
}

export interface GpuReport {
  gpu: GpuSummary | null;
  error: ErrorInfo | null;
  /** add_forward on the device checked against the float64 reference; null when there is no device. */
  selfTest: { kernel: string; diff: Diff; ms: number } | null;
}

export interface WorkerApi {
  /** Opens the WebGPU device (once) and proves it computes; never throws, errors come back in the report. */
  info(): Promise<GpuReport>;
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
