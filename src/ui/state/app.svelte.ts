// The whole page's state, wired once: the engine worker, the store, and one state class per step of the flow
// (model, prompt, dataset, training, evaluation, library, chat). On start it restores what the last visit left:
// the prompt draft, the latest dataset, the adapters, and a run a reload interrupted (resumed by itself).
import type { TestbedKind } from '../../genpi/demo-models';
import { demoPresetFor, presetById } from '../../genpi/presets';
import { createEngineClient, type EngineClient } from '../../worker/client';
import { ChatState } from './chat.svelte';
import { CompareState } from './compare.svelte';
import { DatasetState } from './dataset.svelte';
import { EvaluationState } from './evaluation.svelte';
import { GgufExportState } from './gguf-export.svelte';
import { GpuState } from './gpu.svelte';
import { applyDemoRun, InternalizeState } from './internalize.svelte';
import { JobGate } from './jobs.svelte';
import { LibraryState } from './library.svelte';
import { ModelState } from './model.svelte';
import { OnnxExportState } from './onnx-export.svelte';
import { PromptState } from './prompt.svelte';
import { rememberModel, StoreState } from './store.svelte';
import { TrainingState } from './training.svelte';

export class AppState {
  readonly gate = new JobGate();
  readonly store = new StoreState();
  readonly gpu: GpuState;
  readonly model: ModelState;
  readonly prompt: PromptState;
  readonly dataset: DatasetState;
  readonly library: LibraryState;
  readonly training: TrainingState;
  readonly evaluation: EvaluationState;
  readonly chat: ChatState;
  readonly onnxExport: OnnxExportState;
  readonly ggufExport: GgufExportState;
  /** The guided flow's one button, and its side-by-side try. */
  readonly flow: InternalizeState;
  readonly compare: CompareState;

  constructor(engine: EngineClient = createEngineClient()) {
    this.gpu = new GpuState(engine);
    this.model = new ModelState(engine, this.gate);
    this.prompt = new PromptState(engine, this.model, this.store);
    this.dataset = new DatasetState(engine, this.store, this.model, this.prompt, this.gate);
    this.library = new LibraryState(this.store, this.model);
    this.training = new TrainingState(engine, this.store, this.model, this.prompt, this.dataset, this.library, this.gate);
    this.evaluation = new EvaluationState(engine, this.model, this.prompt, this.dataset, this.library, this.gate);
    this.chat = new ChatState(engine, this.model, this.prompt, this.dataset, this.library, this.gate);
    this.onnxExport = new OnnxExportState(engine, this.store, this.model, this.library, this.gate);
    this.ggufExport = new GgufExportState(engine, this.store, this.model, this.library, this.gate);
    this.flow = new InternalizeState(this.dataset, this.training, this.evaluation);
    this.compare = new CompareState(engine, this.model, this.prompt, this.dataset, this.library, this.gate);

    this.model.onLoaded = (summary, source) => {
      // A demo model comes with a prompt it follows, so a first visit can click straight through; so does switching
      // demo models while the other one's preset is on the page unedited.
      if (summary.testbed && (!this.prompt.text.trim() || this.showsOtherDemoPreset(summary.testbed))) {
        this.prompt.applyPreset(demoPresetFor(summary.testbed).id);
      }
      // ...and a first run small enough to reach a student within minutes (each value editable under Advanced).
      if (summary.testbed) applyDemoRun(this.demoRule(), this.dataset, this.training, this.evaluation);
      void this.prompt.inspect();
      void rememberModel(this.store, summary, source);
      // A device lost earlier is replaced by this load: show the fresh one.
      if (this.gpu.report?.error) void this.gpu.refresh();
    };
    this.prompt.onPreset = (p) => {
      this.dataset.form.maxTurns = p.maxTurns;
      // A demo preset whose rule the first run does not teach gets the default run, and the reverse.
      if (this.model.summary?.testbed && p.testbed) applyDemoRun(this.demoRule(), this.dataset, this.training, this.evaluation);
    };
    this.training.onFinished = (a) => {
      this.evaluation.adapterId = a.id;
      this.chat.adapterId ??= a.id;
      this.compare.adapterId = a.id;
    };
  }

  /**
   * What sizes the demo's first run: the demo rule the prompt states when it is a single-rule demo preset,
   * 'compound' for the compound one (the default run), null for any other prompt.
   */
  private demoRule(): string | null {
    const p = this.prompt.presetId ? presetById(this.prompt.presetId) : undefined;
    return p?.testbedRule ?? (p?.testbed === 'compound' ? 'compound' : null);
  }

  /** Whether the page holds, unedited, a demo preset for another demo model than `testbed`. */
  private showsOtherDemoPreset(testbed: TestbedKind): boolean {
    const p = this.prompt.presetId ? presetById(this.prompt.presetId) : undefined;
    return !!p?.testbed && p.testbed !== testbed && p.text === this.prompt.text;
  }

  async start(): Promise<void> {
    void this.gpu.refresh();
    void this.model.refreshCached();
    await this.store.open();
    const hadDraft = await this.prompt.restoreDraft();
    const dataset = await this.dataset.restoreLatest();
    if (!hadDraft && dataset && !this.prompt.text) this.prompt.adopt(dataset.prompt);
    await this.library.refresh();
    this.evaluation.adapterId ??= this.library.adapters[0]?.id ?? null;
    this.chat.adapterId ??= this.library.adapters[0]?.id ?? null;
    this.compare.adapterId ??= this.library.adapters[0]?.id ?? null;
    await this.training.findResumable();
    // As the README says: a reload resumes the run it interrupted, its model loaded again from the cache.
    await this.training.autoResume();
  }
}
