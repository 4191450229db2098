// The model the user chose: where it comes from (a curated or any hub id, a picked or dropped folder, the tiny
// random model), download progress, the worker's summary or error, and the models already in the browser's cache.
import * as Comlink from 'comlink';
import type { DownloadProgress } from '../../model/hub';
import { thinkingMismatch } from '../../genpi/adapter-meta';
import type { ModelRef, StoredAdapter } from '../../store/schema';
import type { ErrorInfo, ModelSource, ModelSummary } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { refOf } from '../adapter-io';
import { DEMO_MODELS, type TestbedKind } from '../../genpi/demo-models';
import { TINY_SOURCE } from '../curated-models';
import { errorInfo } from '../errors';
import type { JobGate } from './jobs.svelte';

export const DEFAULT_HUB = 'https://huggingface.co';

export class ModelState {
  hubId = $state('HuggingFaceTB/SmolLM2-135M-Instruct');
  hubUrl = $state(DEFAULT_HUB);
  progress = $state<DownloadProgress | null>(null);
  summary = $state.raw<ModelSummary | null>(null);
  error = $state<ErrorInfo | null>(null);
  loading = $state(false);
  /** Where the loaded (or last tried) model came from, so a lost device can load it again. */
  lastSource = $state.raw<ModelSource | null>(null);
  cached = $state.raw<{ id: string; bytes: number }[]>([]);
  cachedError = $state<ErrorInfo | null>(null);
  /**
   * Thinking mode (Qwen3's): off unless the user turns it on. One setting for every job of the model (synthesis,
   * training, evaluation, chat), kept for the next model loaded; adapters record it (genpi_adapter.json).
   */
  thinking = $state(false);
  /** Called after every successful load (the app re-checks the prompt and remembers the model's shape). */
  onLoaded: ((summary: ModelSummary, source: ModelSource) => void) | null = null;

  constructor(
    private readonly engine: EngineClient,
    private readonly gate?: JobGate,
  ) {}

  get ref(): ModelRef | null {
    return this.summary ? refOf(this.summary) : null;
  }

  /** When an adapter was trained with the other thinking mode than the loaded model's now: a warning, not a refusal. */
  thinkingWarning(a: StoredAdapter | undefined): string | null {
    const now = this.summary?.tokenizer.thinking;
    if (!a || now === null || now === undefined) return null;
    const why = thinkingMismatch(a.meta, `Adapter "${a.name}"`, now);
    return why && `${why}. Set the thinking mode in step 1 to match.`;
  }

  loadFromHub(): Promise<void> {
    return this.load({ kind: 'hub', id: this.hubId.trim(), baseUrl: this.hubUrl.trim().replace(/\/+$/, '') });
  }

  loadHubId(id: string): Promise<void> {
    this.hubId = id;
    return this.loadFromHub();
  }

  loadTiny(): Promise<void> {
    return this.load({ ...TINY_SOURCE });
  }

  /** The demo models ship with the app (public/demo-model, public/compound-model): read from this site, so they work offline too. */
  loadDemo(model: TestbedKind = 'single'): Promise<void> {
    return this.load({ kind: 'demo', baseUrl: new URL(`${DEMO_MODELS[model].dir}/`, document.baseURI).href, model });
  }

  /** Files from <input webkitdirectory>: each carries its path inside the folder. */
  loadFromFolder(files: File[]): Promise<void> {
    const withPaths = files.map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    return this.loadFromPaths(withPaths[0]?.path.split('/')[0] || 'folder', withPaths);
  }

  /** Files from a drop (see drop.ts): paths start with the folder's name, as a picked folder's do. */
  loadFromPaths(name: string, files: { path: string; file: File }[]): Promise<void> {
    return this.load({ kind: 'folder', name, files });
  }

  /** Loads the last model again: after a lost device, the worker opens a new one on this call. */
  reload(): Promise<void> {
    return this.lastSource ? this.load(this.lastSource) : Promise.resolve();
  }

  /** Loads a model by a source remembered from an earlier visit (hub and tiny; a folder must be picked again). */
  loadSource(source: ModelSource): Promise<void> {
    if (source.kind === 'hub') this.hubId = source.id;
    return this.load(source);
  }

  /** Turns thinking on or off: at once for the loaded model (between jobs), and for every model loaded after. */
  async setThinking(on: boolean): Promise<void> {
    this.thinking = on;
    if (!this.summary || this.summary.tokenizer.thinking === null || this.summary.tokenizer.thinking === on) return;
    this.error = null;
    try {
      const run = () => this.engine.setThinking(on);
      this.summary = await (this.gate ? this.gate.run('changing the thinking mode', run) : run());
    } catch (e) {
      this.thinking = this.summary.tokenizer.thinking ?? false;
      this.error = errorInfo(e);
    }
  }

  async refreshCached(): Promise<void> {
    try {
      this.cached = await this.engine.cachedModels();
      this.cachedError = null;
    } catch (e) {
      this.cachedError = errorInfo(e);
    }
  }

  async deleteCached(id: string): Promise<void> {
    try {
      await this.engine.deleteCachedModel(id);
    } catch (e) {
      this.cachedError = errorInfo(e);
    }
    await this.refreshCached();
  }

  private async load(source: ModelSource): Promise<void> {
    this.error = null;
    this.progress = null;
    this.lastSource = source;
    try {
      const run = async () => {
        this.loading = true;
        try {
          return await this.engine.loadModel(source, Comlink.proxy((p: DownloadProgress) => (this.progress = p)), { thinking: this.thinking });
        } finally {
          this.loading = false;
        }
      };
      this.summary = await (this.gate ? this.gate.run('loading a model', run) : run());
      this.onLoaded?.(this.summary, source);
    } catch (e) {
      this.error = errorInfo(e);
    }
    if (source.kind === 'hub') void this.refreshCached();
  }
}
