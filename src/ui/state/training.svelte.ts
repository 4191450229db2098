// A training run: the settings form, the plan (memory, steps) before starting, the live curve, pause (a cancel that
// keeps the last checkpoint), resume and cancel. Every checkpoint goes to IndexedDB with the run's curve, so a run
// that a reload interrupted is offered again from its last checkpoint; a finished run becomes a library adapter.
import * as Comlink from 'comlink';
import type { StoredAdapter, StoredDataset, StoredRun } from '../../store/schema';
import { LORA_TARGETS } from '../../llama/lora';
import type { Checkpoint, CurvePoint } from '../../train/loop';
import type { GenpiRecord } from '../../genpi/dataset';
import { STAGE_NAMES } from '../../genpi/synthesis-stages';
import type { ErrorInfo, ModelSource, SynthesisProgress, TrainPlanReport, TrainResult, TrainSettings, TrainStep } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { buildAdapterMeta, defaultAdapterName, shapeOf, WrongModelError } from '../adapter-io';
import { errorInfo, isDeviceLost } from '../errors';
import { formatDuration, newId } from '../format';
import { defaultTrainSettings, effectiveSettings, lossTerms, settingsProblems, VARIANTS } from '../train-settings';
import type { DatasetState } from './dataset.svelte';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { LibraryState } from './library.svelte';
import type { ModelState } from './model.svelte';
import type { PromptState } from './prompt.svelte';
import { knownModel, type StoreState } from './store.svelte';

/** A run that can go on: interrupted by a reload (status still 'running') or paused; step null = no checkpoint. */
export interface Resumable {
  run: StoredRun;
  step: number | null;
  /** How to load the run's model again, when it was a hub or tiny model. */
  source: ModelSource | null;
}

export class TrainingState {
  settings = $state<TrainSettings>(defaultTrainSettings());
  plan = $state.raw<TrainPlanReport | null>(null);
  planError = $state<ErrorInfo | null>(null);
  planning = $state(false);

  run = $state.raw<StoredRun | null>(null);
  curve = $state.raw<CurvePoint[]>([]);
  step = $state.raw<TrainStep | null>(null);
  /** The AS-IS answers or reasons being written before the first step (the plan says why), or null. */
  parts = $state.raw<SynthesisProgress | null>(null);
  /** 'pause' or 'cancel' was pressed and the worker has not stopped yet. */
  stopping = $state<'pause' | 'cancel' | null>(null);
  error = $state<ErrorInfo | null>(null);
  resumable = $state.raw<Resumable | null>(null);
  lastAdapterId = $state<string | null>(null);
  /** Wall-clock seconds the run on screen has trained, over every pause, resume and reload. */
  seconds = $state(0);
  /** The clock (tests drive their own). */
  now: () => number = () => Date.now();
  /** The latest checkpoint, kept here as well: resuming works even when the store refused to save it. */
  private checkpoint: { runId: string; c: Checkpoint } | null = null;
  private readonly job: WorkerJob;
  /** The id of the latest plan request: older answers are not shown. */
  private planRequest = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly store: StoreState,
    private readonly models: ModelState,
    private readonly prompt: PromptState,
    private readonly dataset: DatasetState,
    private readonly library: LibraryState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'train', 'training');
  }

  /** What the form offers: the variant select's entries (the variants table's order) and the LoRA target modules. */
  readonly variants = VARIANTS;
  readonly loraTargets = LORA_TARGETS;

  /** The loss terms of the chosen variant: the form shows only their weights. */
  get lossTerms(): { sft: boolean; pg: boolean; kl: boolean } {
    return lossTerms(this.settings.loss.variant);
  }

  /** The loss terms of the run on screen (of the form before one starts): the curve plots only these. */
  get curveTerms(): { sft: boolean; pg: boolean; kl: boolean } {
    return lossTerms(this.run?.settings.loss.variant ?? this.settings.loss.variant);
  }

  /** The part being written before the first step, by name ("reasons"), or null when none is. */
  get partsStageName(): string | null {
    return this.parts ? STAGE_NAMES[this.parts.stage] : null;
  }

  /** A run is on the GPU, or its end (the adapter, the run's status) is being saved. */
  get running(): boolean {
    return this.job.running;
  }

  problems = $derived(settingsProblems(this.settings));

  /** Why Start is off while no run is on the GPU: a paused or interrupted run goes on or is discarded first. */
  get startBlocker(): string | null {
    const r = this.resumable;
    if (!r) return null;
    return `A run is ${r.run.status === 'running' ? 'interrupted' : 'paused'}: resume or discard it before starting another.`;
  }

  /** The time part of the status: time left while running, time so far when stopped, time in all when done. */
  get timeText(): string {
    if (this.running) return this.step ? `about ${formatDuration(this.step.etaSeconds)} left` : '';
    const run = this.run;
    if (!run || !this.seconds) return '';
    return `${formatDuration(this.seconds)} ${run.status === 'done' ? 'in all' : 'so far'}`;
  }

  /** One line for the status: what the run on screen is doing or how it ended. */
  get statusText(): string {
    if (this.running) return this.stopping === 'pause' ? 'Pausing at the next step…' : this.stopping === 'cancel' ? 'Cancelling…' : 'Training';
    const run = this.run;
    if (!run) return '';
    if (this.resumable?.run.id === run.id) return run.status === 'running' ? 'Interrupted' : 'Paused';
    return { running: 'Running', paused: 'Paused', done: 'Done', cancelled: 'Cancelled', failed: 'Failed' }[run.status];
  }

  /** Why the resumable run cannot resume with the model loaded now, or null. */
  get resumeBlocker(): string | null {
    const r = this.resumable;
    if (!r) return null;
    const s = this.models.summary;
    if (s?.weightHash === r.run.model.weightHash) return null;
    const now = s ? `${s.source} is loaded` : 'no model is loaded';
    return `This run trains on ${r.run.model.id}, but ${now}. Load ${r.run.model.id} to resume.`;
  }

  /** The run's dataset and prompt: the one on screen, or the saved one the run was started with. */
  private async datasetOf(id: string): Promise<StoredDataset> {
    if (this.dataset.id === id) return this.dataset.toStored()!;
    const d = await this.store.read((s) => s.getDataset(id));
    if (!d) throw new Error(`The dataset this run trains on (${id}) is no longer saved; start a new run.`);
    this.dataset.restore(d);
    if (!this.prompt.text) this.prompt.adopt(d.prompt);
    return d;
  }

  async checkPlan(): Promise<TrainPlanReport | null> {
    return (await this.requestPlan())?.plan ?? null;
  }

  /**
   * The worker's plan for the dataset and settings as they are now, with what it was asked about. Each request has
   * an id: only the latest one's answer (or error) is shown, so a slow plan for old settings never replaces a newer
   * one; its caller still gets its own answer.
   */
  private async requestPlan(): Promise<{ plan: TrainPlanReport; ds: StoredDataset; settings: TrainSettings } | null> {
    const request = ++this.planRequest;
    const latest = () => request === this.planRequest;
    this.planError = null;
    this.planning = true;
    try {
      const ds = this.dataset.toStored();
      if (!this.models.summary) throw new Error('Load a model first (step 1).');
      if (!ds || !ds.records.length) throw new Error('Synthesize a dataset first (step 2), or import one under Advanced: the dataset.');
      if (this.problems.length) throw new Error(`Fix the settings: ${this.problems.join('; ')}.`);
      const settings = effectiveSettings($state.snapshot(this.settings));
      const plan = await this.engine.planTraining(ds.prompt.text, ds.records, settings);
      if (latest()) this.plan = plan;
      return { plan, ds, settings };
    } catch (e) {
      if (latest()) {
        this.plan = null;
        this.planError = errorInfo(e);
      }
      return null;
    } finally {
      if (latest()) this.planning = false;
    }
  }

  async start(): Promise<void> {
    this.error = null;
    if (this.running || this.startBlocker) return;
    const planned = await this.requestPlan();
    if (!planned) return;
    const { plan, ds } = planned;
    await this.dataset.save(); // a run must find its dataset after a reload
    const now = Date.now();
    // The run keeps the batch and epochs "auto" chose, as numbers: a resume trains the same run even if the sizing
    // policy changes in between, and the adapter's metadata records what it was trained with. The settings are the
    // ones the plan was made for, even if the form changed while the worker planned.
    const settings = { ...planned.settings, epochs: plan.epochs, batchSize: plan.batchSize };
    const run: StoredRun = {
      id: newId('run'), datasetId: ds.id, created: now, updated: now, model: this.models.ref!,
      settings, status: 'running', curve: [], totalSteps: plan.steps,
      adapterId: null, error: null, seconds: 0, form: $state.snapshot(this.settings),
    };
    await this.saveRun(run);
    await this.execute(run, ds);
  }

  pause(): void {
    this.stop('pause');
  }

  cancel(): void {
    this.stop('cancel');
  }

  private stop(how: 'pause' | 'cancel'): void {
    if (!this.running) return;
    this.stopping = how;
    this.job.cancel();
  }

  /** Forgets the resumable run (marks it cancelled; its checkpoint may then be deleted to make room). */
  async discard(): Promise<void> {
    const r = this.resumable;
    if (!r) return;
    this.resumable = null;
    await this.saveRun({ ...r.run, status: 'cancelled', updated: Date.now() });
  }

  async resume(): Promise<void> {
    const r = this.resumable;
    if (!r || this.running) return;
    this.error = null;
    try {
      if (this.resumeBlocker) throw new WrongModelError(this.resumeBlocker);
      const c = this.checkpoint?.runId === r.run.id ? this.checkpoint.c : await this.store.read((s) => s.latestCheckpoint(r.run.id));
      const ds = await this.datasetOf(r.run.datasetId);
      // The checkpoint resumed from is the run's latest until the next one: a pause before it keeps its step.
      if (c) this.checkpoint = { runId: r.run.id, c };
      const run: StoredRun = { ...r.run, status: 'running', updated: Date.now(), error: null };
      this.resumable = null;
      await this.saveRun(run);
      await this.execute(run, ds, c ? {
        step: c.step, params: c.params, m: c.m, v: c.v, curve: c.curve, ...(c.best ? { best: c.best } : {}), ...(c.epochStart ? { epochStart: c.epochStart } : {}),
      } : undefined);
    } catch (e) {
      this.error = errorInfo(e);
    }
  }

  private async execute(run: StoredRun, ds: StoredDataset, resume?: Checkpoint): Promise<void> {
    this.run = run;
    this.curve = resume?.curve ?? [];
    this.step = null;
    this.stopping = null;
    // Real time: what earlier sessions of the run trained, plus this one's clock (the worker's counts only its job).
    const before = run.seconds ?? 0;
    const began = this.now();
    const clock = () => (this.seconds = before + (this.now() - began) / 1000);
    this.seconds = before;
    this.parts = null;
    const callbacks = {
      onParts: (p: SynthesisProgress) => (this.parts = p),
      // The parts written for this run are kept with the dataset, so the next run does not write them again.
      onPartsMade: async (records: GenpiRecord[]) => {
        this.parts = null;
        if (this.dataset.id === ds.id) await this.dataset.adoptRecords(records);
        else await this.store.save(`dataset "${ds.name}"`, (s) => s.putDataset({ ...ds, records, updated: Date.now() }));
      },
      onStep: (s: TrainStep) => {
        clock();
        this.step = s;
        this.curve = [...this.curve, s];
      },
      onCheckpoint: async (c: Checkpoint) => {
        this.checkpoint = { runId: run.id, c };
        run = { ...run, curve: c.curve, updated: Date.now(), seconds: clock() };
        this.run = run;
        await this.store.save(`the checkpoint of run ${run.id}`, (s) => s.saveCheckpoint(run.id, c));
        await this.saveRun(run);
      },
    };
    try {
      // The run's end is saved inside the job, so `running` (and the gate) last until the adapter is in the library.
      await this.job.run(async (jobId) => {
        const result = await this.engine.train(jobId, ds.prompt.text, ds.records, run.settings, Comlink.proxy(callbacks), resume);
        run = { ...run, curve: result.curve, totalSteps: Math.max(run.totalSteps, result.steps), seconds: clock() };
        if (result.stopped) await this.stopped(run, this.stopping === 'pause' ? 'paused' : 'cancelled', null);
        else await this.finish(run, ds, result);
      });
    } catch (e) {
      this.error = errorInfo(e);
      run = { ...run, seconds: clock() };
      // A lost device is no fault of the run: keep it resumable from its last checkpoint once the model is back.
      await this.stopped(run, isDeviceLost(this.error) ? 'paused' : 'failed', `${this.error.name}: ${this.error.message}`);
    } finally {
      this.stopping = null;
    }
  }

  private async stopped(run: StoredRun, status: 'paused' | 'cancelled' | 'failed', error: string | null): Promise<void> {
    run = { ...run, status, error, updated: Date.now() };
    this.run = run;
    await this.saveRun(run);
    if (status === 'paused') {
      const step = this.checkpoint?.runId === run.id ? this.checkpoint.c.step : null;
      this.resumable = { run, step, source: this.models.lastSource };
    }
  }

  private async finish(run: StoredRun, ds: StoredDataset, result: TrainResult): Promise<void> {
    const model = this.models.summary!;
    const created = Date.now();
    let tokens = 0;
    try {
      tokens = (await this.engine.inspectPrompt(ds.prompt.text)).tokens;
    } catch {
      // The count is for the record only; an adapter without it is still whole.
    }
    const meta = await buildAdapterMeta({
      model: shapeOf(model), prompt: { text: ds.prompt.text, tokens }, thinking: model.tokenizer.thinking ?? false, settings: run.settings,
      memory: result.memory,
      dataset: { name: ds.name, records: ds.records, figures: ds.figures }, curve: result.curve, created,
    });
    const label = this.prompt.text === ds.prompt.text ? this.prompt.presetTitle : null;
    const adapter: StoredAdapter = {
      id: newId('adapter'), name: defaultAdapterName(label, created), created, model: run.model,
      spec: result.adapter.spec, params: result.adapter.params, meta, runId: run.id, evaluation: null,
    };
    await this.library.put(adapter);
    this.lastAdapterId = adapter.id;
    run = { ...run, status: 'done', adapterId: adapter.id, updated: Date.now() };
    this.run = run;
    await this.saveRun(run);
    this.onFinished?.(adapter);
  }

  /** Told when an adapter is ready (evaluation and chat pick it). */
  onFinished: ((a: StoredAdapter) => void) | null = null;

  private saveRun(run: StoredRun): Promise<boolean> {
    return this.store.save(`run ${run.id}`, (s) => s.putRun(run));
  }

  /** At start: the newest run a reload interrupted or the user paused, with its checkpoint's step. */
  async findResumable(): Promise<void> {
    const runs = await this.store.read((s) => s.interrupted());
    const run = runs?.[0];
    if (!run) return;
    const c = await this.store.read((s) => s.latestCheckpoint(run.id));
    const known = await knownModel(this.store, run.model.weightHash);
    this.resumable = { run, step: c?.step ?? null, source: known?.source ?? null };
    this.run = run;
    this.curve = run.curve;
    this.seconds = run.seconds ?? 0;
    // The form as the user left it, "auto" kept (resuming uses the run's own settings either way).
    this.settings = structuredClone(run.form ?? run.settings);
  }

  /**
   * After a reload, a run the reload interrupted goes on by itself: its model is loaded again (from the browser's
   * cache for a hub model; a picked folder must be picked again) and the run resumes from its last checkpoint. A
   * paused run waits for the user.
   */
  async autoResume(): Promise<void> {
    const r = this.resumable;
    if (!r || r.run.status !== 'running' || this.running) return;
    if (this.resumeBlocker) {
      if (!r.source || r.source.kind === 'folder') return;
      await this.models.loadSource(r.source);
      if (this.resumeBlocker) return; // the load failed or found other weights: step 1 says why
    }
    await this.resume();
  }
}
