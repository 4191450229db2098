// "Download for llama.cpp / Ollama" on an adapter of the library: the worker writes the GGUF file `genpi export-gguf`
// writes (the model with the adapter merged at f16 or q8_0, or the adapter alone as a LoRA GGUF) and hands it over
// part by part; the page streams it to a file the user picks, or gathers it for a download where the browser cannot,
// then shows a Modelfile that names the files written. Cancellable, with progress. A file the download path cannot
// hold, or a disk without room for it, is refused with its numbers before any weight is read.
import * as Comlink from 'comlink';
import type { ErrorInfo, ExportProgress, GgufKind } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { modelIdOf } from '../../worker/model-labels';
import { requireTrainedModel } from '../adapter-io';
import { safeFileName } from '../download';
import { BusyError, errorInfo, isCancelled } from '../errors';
import { formatBytes } from '../format';
import { NoFileChosenError, openSaveTarget, type SaveTarget } from '../save-file';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { LibraryState } from './library.svelte';
import type { ModelState } from './model.svelte';
import type { StoreState } from './store.svelte';

/** The three files offered, as the library's menu shows them. */
export const GGUF_CHOICES: Record<GgufKind, string> = {
  f16: 'merged, f16',
  q8_0: 'merged, q8_0 (about half the size)',
  lora: 'LoRA only (for a base GGUF you have)',
};

/**
 * A download gathered in the tab holds the whole file in memory (twice while the Blob is made), so past this it is
 * refused rather than left to fail part-way; a browser that saves to disk streams any size.
 */
export const DOWNLOAD_LIMIT = 2 * 2 ** 30;

/** A file the chosen path cannot hold: too big to gather in the tab for a download. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
}

const GGUF_TYPE = { description: 'GGUF model', mime: 'application/octet-stream', ext: '.gguf' };

/** Where the model's name is a hub id or a path, its last part: the name its base GGUF usually goes by. */
const shortName = (id: string) => id.split('/').filter(Boolean).at(-1) ?? id;

/**
 * An Ollama Modelfile for the file written, and the matching llama.cpp command: FROM the merged file; or, for the
 * adapter alone, FROM a GGUF of the base it was trained on (named with its weight hash) and ADAPTER the file.
 */
export function modelfileSnippet(kind: GgufKind, file: string, base: { id: string; weightHash: string }): string {
  const model = file.replace(/\.gguf$/, '').toLowerCase();
  const head = `# Modelfile: put it beside ${file}, then run: ollama create ${model} -f Modelfile`;
  if (kind !== 'lora') return [head, `FROM ./${file}`, `# or with llama.cpp: llama-cli -m ${file}`].join('\n');
  const baseFile = safeFileName(shortName(base.id), 'gguf');
  return [
    head,
    `# FROM must be a GGUF of ${base.id} (weights ${base.weightHash}), the model this adapter was trained on,`,
    `# made for instance by: genpi export-gguf --model <its folder> --out ${baseFile}`,
    `FROM ./${baseFile}`,
    `ADAPTER ./${file}`,
    `# or with llama.cpp: llama-cli -m ${baseFile} --lora ${file}`,
  ].join('\n');
}

export class GgufExportState {
  kind = $state<GgufKind>('q8_0');
  /** The adapter being exported: what the worker is doing, and the share of the file written. */
  progress = $state<{ id: string; fraction: number; stage: string } | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** Calm news: a cancel, or a picker closed without a file. */
  notice = $state<string | null>(null);
  /** The last export that finished: its file, where it went, and the Modelfile that loads it. */
  done = $state<{ id: string; kind: GgufKind; file: string; bytes: number; savedTo: 'disk' | 'download'; snippet: string } | null>(null);
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly store: StoreState,
    private readonly models: ModelState,
    private readonly library: LibraryState,
    private readonly gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'gguf-export', 'the GGUF export');
  }

  get running(): boolean {
    return this.job.running;
  }

  /** Call straight from the click: the save picker opens first, while the browser still counts the click. */
  async run(id: string): Promise<void> {
    const a = this.library.get(id);
    if (!a) return;
    this.error = null;
    this.notice = null;
    this.done = null;
    const kind = this.kind;
    const file = safeFileName(`${a.name}-${kind}`, 'gguf');
    let target: SaveTarget | null = null;
    try {
      requireTrainedModel(this.models.summary, a, `the GGUF file is made from the model adapter "${a.name}" was trained on`);
      if (this.gate.label) throw new BusyError(`${this.gate.label} is running; wait for it to finish or cancel it first`);
      target = await openSaveTarget(file, GGUF_TYPE);
      const to = target;
      this.progress = { id, fraction: 0, stage: 'starting' };
      let total = 0;
      let written = 0;
      const what = `the GGUF file of adapter "${a.name}"`;
      const sink = {
        start: async (bytes: number) => {
          total = bytes;
          if (to.kind === 'download') {
            if (bytes > DOWNLOAD_LIMIT) {
              throw new FileTooLargeError(`${what} would be ${formatBytes(bytes)}, past the ${formatBytes(DOWNLOAD_LIMIT)} a download made in this tab can hold; ` +
                `choose ${kind === 'f16' ? 'q8_0 or ' : ''}LoRA only, or use a browser that saves straight to disk (Chrome, Edge)`);
            }
            await this.store.store?.checkRoom(what, bytes);
          }
        },
        write: async (part: Uint8Array) => {
          await to.write(part);
          written += part.length;
          if (this.progress) this.progress = { ...this.progress, fraction: total ? written / total : 0 };
        },
      };
      const name = `${modelIdOf(a.model.id)} + ${a.name}`;
      const bytes = await this.job.run((jobId) => this.engine.exportGguf(jobId, { spec: a.spec, params: a.params }, kind, name, Comlink.proxy(sink),
        Comlink.proxy((p: ExportProgress) => {
          if (this.progress) this.progress = { ...this.progress, stage: p.stage };
        })));
      await to.close();
      target = null;
      this.done = { id, kind, file, bytes, savedTo: to.kind, snippet: modelfileSnippet(kind, file, { id: modelIdOf(a.model.id), weightHash: a.model.weightHash }) };
    } catch (e) {
      await target?.abort();
      const error = errorInfo(e);
      if (isCancelled(error)) this.notice = 'GGUF export cancelled; no file was saved.';
      else if (e instanceof NoFileChosenError) this.notice = `GGUF export: ${e.message}.`;
      else this.error = error;
    } finally {
      this.progress = null;
    }
  }

  cancel(): void {
    this.job.cancel();
  }
}
