// The body of the worker's GGUF job ("Download for llama.cpp / Ollama"): the same writer `genpi export-gguf` uses
// (export/gguf.ts), so a file from the app is the CLI's file, byte for byte, for the same model, adapter and name.
// Kept out of session.ts and free of the GPU, so a Node test drives the app's path without a device. The file
// leaves part by part through the page's sink, one tensor in memory at a time, each write awaited: the page's
// disk sets the pace, and nothing the size of the model is held here.
import type { LoraAdapter } from '../llama/peft';
import type { ModelFiles } from '../model/open';
import type { ExportProgress, GgufKind, GgufSink } from './api';
import { notifier } from './jobs';

export interface GgufJob {
  kind: GgufKind;
  /** general.name: what llama.cpp and Ollama show. */
  name: string;
  sink: GgufSink;
  signal: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

/** Writes the GGUF file of `job.kind` to the sink; the bytes written. */
export async function writeGguf(model: ModelFiles, adapter: LoraAdapter, job: GgufJob): Promise<number> {
  const { signal, sink } = job;
  signal.throwIfAborted();
  const show = notifier(job.onProgress);
  // Loaded on first use: the GGUF writer stays out of the worker's first download.
  const { planGguf, planGgufLora } = await import('../export/gguf');
  show({ fraction: 0, stage: job.kind === 'lora' ? 'the adapter\'s tensors' : 'checking the tokenizer' });
  const plan = job.kind === 'lora'
    ? planGgufLora(model.config, adapter, job.name)
    : await planGguf(model, adapter, { type: job.kind, name: job.name, signal, onProgress: (fraction, stage) => show({ fraction, stage }) });
  signal.throwIfAborted();
  await sink.start(plan.bytes);
  let written = 0;
  for await (const part of plan.parts()) {
    signal.throwIfAborted();
    // Counted before the write: across comlink the part's buffer moves to the page.
    written += part.length;
    await sink.write(part);
  }
  signal.throwIfAborted();
  if (written !== plan.bytes) throw new Error(`gguf: wrote ${written} bytes where the header promised ${plan.bytes}`);
  show({ fraction: 1, stage: 'done' });
  return written;
}
