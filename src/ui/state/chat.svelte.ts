// Chatting with an adapter: the student (adapter, no P) by default, or the teacher (P, no adapter) or the base model
// (neither) for comparison; each reply streams in and is labelled with the side that wrote it. Each side keeps its
// own conversation: the teacher never answers in a conversation the student wrote.
import * as Comlink from 'comlink';
import type { ChatMessage } from '../../model/tokenizer';
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

export interface ChatTurn extends ChatMessage {
  /** Who wrote an assistant turn. */
  side?: ChatSide;
}

export const SIDES: readonly { value: ChatSide; label: string }[] = [
  { value: 'student', label: 'Student: adapter, no prompt' },
  { value: 'teacher', label: 'Teacher: prompt, no adapter' },
  { value: 'base', label: 'Base: neither' },
];

export class ChatState {
  adapterId = $state<string | null>(null);
  side = $state<ChatSide>('student');
  /** One conversation per side, so switching "who answers" shows that side's own history. */
  private logs = $state.raw<Record<ChatSide, ChatTurn[]>>({ student: [], teacher: [], base: [] });
  input = $state('');
  streaming = $state('');
  error = $state<ErrorInfo | null>(null);
  temperature = $state(0.7);
  maxNewTokens = $state(256);
  private seed = 0;
  /** Which conversation is on screen: a new adapter or clear() starts another, and replies to older ones are dropped. */
  private conversation = 0;
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelState,
    private readonly prompt: PromptState,
    private readonly dataset: DatasetState,
    private readonly library: LibraryState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'chat', 'chat');
  }

  get running(): boolean {
    return this.job.running;
  }

  /** The conversation of the side on screen. */
  get turns(): ChatTurn[] {
    return this.logs[this.side];
  }

  private setTurns(side: ChatSide, turns: ChatTurn[]): void {
    this.logs = { ...this.logs, [side]: turns };
  }

  /** Which side is answering now (the streaming reply belongs to it, whichever side is on screen). */
  answering = $state<ChatSide | null>(null);

  get thinkingWarning(): string | null {
    return this.models.thinkingWarning(this.library.get(this.adapterId));
  }

  open(adapterId: string): void {
    if (this.adapterId !== adapterId) this.newConversation();
    this.adapterId = adapterId;
    this.side = 'student';
    this.error = null;
  }

  clear(): void {
    this.newConversation();
    this.error = null;
  }

  /** A reply still streaming belongs to the old conversation: it is stopped, and dropped if it comes anyway. */
  private newConversation(): void {
    this.conversation++;
    this.logs = { student: [], teacher: [], base: [] };
    this.job.cancel();
  }

  async send(): Promise<void> {
    const text = this.input.trim();
    if (!text || this.running) return;
    this.error = null;
    const conversation = this.conversation;
    const current = () => conversation === this.conversation;
    try {
      const a = this.library.get(this.adapterId);
      if (!a) throw new Error('Pick an adapter in the library (step 3) and press Chat.');
      const mismatch = modelMismatch(a, this.models);
      if (mismatch) throw new WrongModelError(mismatch);
      const side = this.side;
      const prompt = side === 'teacher' ? await teacherPrompt(a, this.dataset, this.prompt) : '';
      if (!current()) return; // another chat was opened while P was looked up: the message was for the old one
      const before = this.logs[side];
      this.setTurns(side, [...before, { role: 'user', content: text }]);
      this.input = '';
      const messages = this.logs[side].map(({ role, content }) => ({ role, content }));
      this.streaming = '';
      this.answering = side;
      try {
        const reply = await this.job.run((jobId) =>
          this.engine.chat(jobId, {
            side, prompt, messages, adapter: side === 'student' ? { spec: a.spec, params: a.params } : null,
            maxNewTokens: this.maxNewTokens, temperature: this.temperature, seed: this.seed++,
          }, Comlink.proxy((t: string) => {
            if (current()) this.streaming = t;
          })),
        );
        if (current()) this.setTurns(side, [...this.logs[side], { role: 'assistant', content: reply, side }]);
      } catch (e) {
        // Nothing came back: give the message back to the box so it can be sent again (in its own conversation).
        if (current()) {
          this.setTurns(side, before);
          this.input = text;
        }
        throw e;
      }
    } catch (e) {
      if (current()) this.error = errorInfo(e);
    } finally {
      this.streaming = '';
      this.answering = null;
    }
  }

  stop(): void {
    this.job.cancel();
  }
}
