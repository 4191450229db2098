// "Try it" in the guided flow's last step: one message, answered side by side by the model with the prompt (the
// teacher), the adapter without it (the student) and the base model (neither), one after the other on the one GPU.
// Each answer is a fresh single turn; the multi-turn chat lives in its own panel.
import * as Comlink from 'comlink';
import type { ChatSide, ErrorInfo } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { WrongModelError } from '../adapter-io';
import { errorInfo } from '../errors';
import type { DatasetState } from './dataset.svelte';
import { modelMismatch, teacherPrompt } from './evaluation.svelte';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { LibraryState } from './library.svelte';
import type { ModelState } from './model.svelte';
import type { PromptState } from './prompt.svelte';

/** The columns, in the order they answer and are shown. */
export const COMPARE_SIDES: readonly { side: ChatSide; label: string }[] = [
  { side: 'teacher', label: 'With the prompt' },
  { side: 'student', label: 'Adapter, no prompt' },
  { side: 'base', label: 'Base model, neither' },
];

export class CompareState {
  adapterId = $state<string | null>(null);
  input = $state('');
  /** The message the answers below reply to. */
  asked = $state('');
  answers = $state<Record<ChatSide, string>>({ teacher: '', student: '', base: '' });
  /** The side answering now. */
  answering = $state<ChatSide | null>(null);
  error = $state<ErrorInfo | null>(null);
  maxNewTokens = $state(64);
  private stopped = false;
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelState,
    private readonly prompt: PromptState,
    private readonly dataset: DatasetState,
    private readonly library: LibraryState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'compare', 'trying the adapter');
  }

  get running(): boolean {
    return this.answering !== null;
  }

  async ask(): Promise<void> {
    const text = this.input.trim();
    if (!text || this.running) return;
    this.error = null;
    this.stopped = false;
    try {
      const a = this.library.get(this.adapterId);
      if (!a) throw new Error('Internalize a prompt first: the adapter it makes answers here.');
      const mismatch = modelMismatch(a, this.models);
      if (mismatch) throw new WrongModelError(mismatch);
      const p = await teacherPrompt(a, this.dataset, this.prompt);
      this.asked = text;
      this.answers = { teacher: '', student: '', base: '' };
      for (const { side } of COMPARE_SIDES) {
        if (this.stopped) break;
        this.answering = side;
        const reply = await this.job.run((jobId) =>
          this.engine.chat(jobId, {
            side, prompt: side === 'teacher' ? p : '', messages: [{ role: 'user', content: text }],
            adapter: side === 'student' ? { spec: a.spec, params: a.params } : null,
            maxNewTokens: this.maxNewTokens, temperature: 0, seed: 0,
          }, Comlink.proxy((t: string) => (this.answers[side] = t))),
        );
        this.answers[side] = reply;
      }
    } catch (e) {
      const error = errorInfo(e);
      if (error.name !== 'CancelledError') this.error = error;
    } finally {
      this.answering = null;
    }
  }

  stop(): void {
    this.stopped = true;
    this.job.cancel();
  }
}
