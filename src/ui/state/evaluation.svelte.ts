// Evaluating an adapter: held-out inputs from the dataset (or typed ones), the worker's figures for student,
// teacher and base, and the figures saved into the adapter so the library and its export carry them.
import * as Comlink from 'comlink';
import type { EvalFigures } from '../../genpi/evaluate';
import type { StoredAdapter } from '../../store/schema';
import type { ErrorInfo } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { promptForAdapter, WrongModelError } from '../adapter-io';
import { errorInfo, isCancelled } from '../errors';
import { lines } from '../records';
import type { DatasetState } from './dataset.svelte';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { LibraryState } from './library.svelte';
import type { ModelState } from './model.svelte';
import type { PromptState } from './prompt.svelte';

/** The adapter must run on the model it was trained on; null when it can, else what to load. */
export function modelMismatch(a: StoredAdapter, models: ModelState): string | null {
  const s = models.summary;
  if (s?.weightHash === a.model.weightHash) return null;
  return `Adapter "${a.name}" was trained on ${a.model.id}, but ${s ? `${s.source} is loaded` : 'no model is loaded'}. Load ${a.model.id} first (step 1).`;
}

/** P for the teacher: the prompt the adapter was trained on, found by its hash among the texts at hand. */
export async function teacherPrompt(a: StoredAdapter, dataset: DatasetState, prompt: PromptState): Promise<string> {
  const p = await promptForAdapter(a.meta, [dataset.prompt?.text, prompt.text]);
  if (p === null) {
    throw new Error(`The prompt adapter "${a.name}" was trained on is not on this page (it keeps only a hash of it): paste it in step 1.`);
  }
  return p;
}

export class EvaluationState {
  adapterId = $state<string | null>(null);
  source = $state<'heldout' | 'typed'>('heldout');
  typed = $state('');
  maxNewTokens = $state(128);
  figures = $state.raw<EvalFigures | null>(null);
  stage = $state('');
  error = $state<ErrorInfo | null>(null);
  savedTo = $state('');
  /** Set when the user cancelled the last run: said calmly, not as an error. */
  notice = $state('');
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelState,
    private readonly prompt: PromptState,
    private readonly dataset: DatasetState,
    private readonly library: LibraryState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'eval', 'evaluation');
  }

  get running(): boolean {
    return this.job.running;
  }

  get thinkingWarning(): string | null {
    return this.models.thinkingWarning(this.library.get(this.adapterId));
  }

  get inputs(): string[] {
    return this.source === 'heldout' ? this.dataset.heldoutInputs : lines(this.typed);
  }

  async run(): Promise<void> {
    this.error = null;
    this.notice = '';
    this.savedTo = '';
    try {
      const a = this.library.get(this.adapterId);
      if (!a) throw new Error('Pick an adapter to evaluate (train one in step 2 or import one in step 3).');
      const mismatch = modelMismatch(a, this.models);
      if (mismatch) throw new WrongModelError(mismatch);
      const inputs = this.inputs;
      if (!inputs.length) {
        throw new Error(this.source === 'heldout' ? 'The dataset has no held-out records: type inputs instead, one per line.' : 'Type at least one input, one per line.');
      }
      const prompt = await teacherPrompt(a, this.dataset, this.prompt);
      this.stage = 'starting';
      this.figures = await this.job.run((jobId) =>
        this.engine.evaluate(jobId, {
          prompt, inputs, adapter: { spec: a.spec, params: a.params }, maxNewTokens: this.maxNewTokens,
          actionPattern: this.prompt.text === prompt ? this.prompt.actionPattern : (this.dataset.prompt?.actionPattern ?? ''),
        }, Comlink.proxy((stage: string) => (this.stage = stage))),
      );
      if (await this.library.saveEvaluation(a.id, this.figures)) this.savedTo = a.name;
    } catch (e) {
      const error = errorInfo(e);
      if (isCancelled(error)) this.notice = 'Evaluation cancelled.';
      else this.error = error;
    } finally {
      this.stage = '';
    }
  }

  cancel(): void {
    this.job.cancel();
  }
}
