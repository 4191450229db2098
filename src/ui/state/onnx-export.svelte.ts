// "Download for transformers.js" on an adapter of the library: the worker merges the adapter into the loaded model
// and writes the folder transformers.js loads (ONNX, config, tokenizer), zipped; the page downloads it and shows
// how to load it. Cancellable, with progress; a disk without room for it is refused up front as a StorageFullError.
import * as Comlink from 'comlink';
import type { ErrorInfo, ExportProgress } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { requireTrainedModel } from '../adapter-io';
import { download, safeFileName } from '../download';
import { errorInfo } from '../errors';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { LibraryState } from './library.svelte';
import type { ModelState } from './model.svelte';
import type { StoreState } from './store.svelte';

export type OnnxDType = 'f32' | 'f16';

/** How to load the unzipped folder in a web page; `name` is the folder under the site's /models/. */
export function loadSnippet(name: string, dtype: OnnxDType): string {
  return [
    "import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';",
    `// Unzip into your site's /models/${name}/`,
    'env.allowLocalModels = true;',
    "env.localModelPath = '/models/';",
    'env.allowRemoteModels = false;',
    `const tokenizer = await AutoTokenizer.from_pretrained('${name}');`,
    `const model = await AutoModelForCausalLM.from_pretrained('${name}', { dtype: '${dtype === 'f16' ? 'fp16' : 'fp32'}' });`,
    "const inputs = tokenizer.apply_chat_template([{ role: 'user', content: 'Hello' }], { add_generation_prompt: true, return_dict: true });",
    'const out = await model.generate({ ...inputs, max_new_tokens: 64 });',
    '// Rows of the batch, from the first new token on (slice takes one range per dimension).',
    'const reply = out.slice(null, [inputs.input_ids.dims[1], null]);',
    'console.log(tokenizer.batch_decode(reply, { skip_special_tokens: true })[0]);',
  ].join('\n');
}

export class OnnxExportState {
  /** The adapter being exported, with the worker's progress. */
  progress = $state<{ id: string; fraction: number; stage: string } | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** The last export that finished: which adapter, its file and the snippet that loads it. */
  done = $state<{ id: string; file: string; snippet: string } | null>(null);
  dtype = $state<OnnxDType>('f32');
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly store: StoreState,
    private readonly models: ModelState,
    private readonly library: LibraryState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'onnx-export', 'the transformers.js export');
  }

  get running(): boolean {
    return this.job.running;
  }

  async run(id: string): Promise<void> {
    const a = this.library.get(id);
    if (!a) return;
    this.error = null;
    this.done = null;
    const dtype = this.dtype;
    try {
      const s = requireTrainedModel(this.models.summary, a, `the export merges adapter "${a.name}" into the model it was trained on`);
      // The zip holds every weight once, at 4 bytes (f32) or 2 (f16).
      await this.store.store?.checkRoom(`the transformers.js export of adapter "${a.name}"`, s.parameters * (dtype === 'f16' ? 2 : 4));
      this.progress = { id, fraction: 0, stage: 'starting' };
      const zip = await this.job.run((jobId) =>
        this.engine.exportOnnx(jobId, { spec: a.spec, params: a.params }, dtype,
          Comlink.proxy((p: ExportProgress) => (this.progress = { id, ...p }))),
      );
      const name = safeFileName(`${a.name}-onnx`, 'zip');
      download(name, zip as BlobPart, 'application/zip');
      this.done = { id, file: name, snippet: loadSnippet(name.replace(/\.zip$/, ''), dtype) };
    } catch (e) {
      this.error = errorInfo(e);
    } finally {
      this.progress = null;
    }
  }

  cancel(): void {
    this.job.cancel();
  }
}
