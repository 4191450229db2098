// The one typed contract between the page and the engine worker (comlink). Every call the UI makes is here;
// later issues grow it (models, synthesis, training, generation).
import type { GpuSummary } from '../gpu/device';
import type { DownloadProgress } from '../model/hub';
import type { describeModel } from '../model/open';
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

/** Where a model comes from: the hub (downloaded into the browser's private storage) or a folder the user picked. */
export type ModelSource =
  | { kind: 'hub'; id: string; baseUrl?: string; revision?: string }
  | { kind: 'folder'; name: string; files: { path: string; file: File }[] };

export interface ModelSummary extends ReturnType<typeof describeModel> {
  source: string;
  tokenizer: {
    vocabSize: number;
    eosTokenIds: number[];
    endOfTurnIds: number[];
    /** A one-message conversation through the model's chat template, and its token count. */
    chatSample: string;
    chatSampleTokens: number;
  };
}

export interface WorkerApi {
  /** Opens the WebGPU device (once) and proves it computes; never throws, errors come back in the report. */
  info(): Promise<GpuReport>;
  /** Downloads (or finds in the cache) and checks a model; throws typed errors (ModelError and kin). */
  loadModel(source: ModelSource, onProgress?: (p: DownloadProgress) => void): Promise<ModelSummary>;
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
