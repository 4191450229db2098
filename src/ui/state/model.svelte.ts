// The model the user chose: where it comes from, download progress, and the worker's summary or error.
import * as Comlink from 'comlink';
import type { DownloadProgress } from '../../model/hub';
import type { ErrorInfo, ModelSource, ModelSummary } from '../../worker/api';
import type { EngineClient } from '../../worker/client';

export const DEFAULT_HUB = 'https://huggingface.co';

export class ModelState {
  hubId = $state('HuggingFaceTB/SmolLM2-135M-Instruct');
  hubUrl = $state(DEFAULT_HUB);
  progress = $state<DownloadProgress | null>(null);
  summary = $state<ModelSummary | null>(null);
  error = $state<ErrorInfo | null>(null);
  loading = $state(false);

  constructor(private readonly engine: EngineClient) {}

  loadFromHub(): Promise<void> {
    return this.load({ kind: 'hub', id: this.hubId.trim(), baseUrl: this.hubUrl.trim().replace(/\/+$/, '') });
  }

  /** Files from <input webkitdirectory> or a drop: each carries its path inside the folder. */
  loadFromFolder(files: File[]): Promise<void> {
    const withPaths = files.map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    const name = withPaths[0]?.path.split('/')[0] || 'folder';
    return this.load({ kind: 'folder', name, files: withPaths });
  }

  private async load(source: ModelSource): Promise<void> {
    this.loading = true;
    this.error = null;
    this.progress = null;
    try {
      this.summary = await this.engine.loadModel(
        source,
        Comlink.proxy((p: DownloadProgress) => (this.progress = p)),
      );
    } catch (e) {
      const err = e as Error;
      this.error = { name: err.name || 'Error', message: err.message };
    } finally {
      this.loading = false;
    }
  }
}
