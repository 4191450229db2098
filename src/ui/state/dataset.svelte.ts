// The synthesized dataset: settings, the synthesis job and its progress, the records the user edits or deletes,
// JSONL import (bad lines reported by number, good ones kept) and export. Saved after synthesis, import and every
// edit; the latest is restored on start, so a reload loses nothing.
import * as Comlink from 'comlink';
import { coverageText } from '../../genpi/coverage';
import { shortfallMessage } from '../../genpi/shortfall';
import { DEFAULT_SYNTHESIS } from '../../genpi/synthesis-defaults';
import { STAGE_NAMES } from '../../genpi/synthesis-stages';
import { readDataset, type DatasetFigures, type GenpiRecord, type JsonlLineError } from '../../genpi/dataset';
import { decodeTextFile } from '../../model/text-file';
import type { StoredDataset, StoredPrompt, ModelRef } from '../../store/schema';
import { OPTIONAL_PARTS, partsText, recordParts } from '../../train/sequences';
import type { ErrorInfo, SynthesisProgress, SynthesisSettings } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { download, safeFileName } from '../download';
import { errorInfo, isCancelled } from '../errors';
import { formatDate, newId } from '../format';
import { datasetJsonl, datasetTrlJsonl, editRecord, lines, type RecordPatch } from '../records';
import { WorkerJob, type JobGate } from './jobs.svelte';
import type { ModelState } from './model.svelte';
import type { PromptState } from './prompt.svelte';
import type { StoreState } from './store.svelte';

/**
 * The synthesis settings as the form edits them: seed inputs as text, the retry budget null for "auto" (an empty
 * number field), one box for the optional parts (AS-IS answers and reasons), the user-turn nucleus always set;
 * environment and pattern live with P.
 */
export type SynthForm = Omit<SynthesisSettings, 'seedInputs' | 'environment' | 'actionPattern' | 'maxRounds' | 'parts' | 'userTurnTopP'> &
  { seedInputs: string; maxRounds: number | null; makeParts: boolean; userTurnTopP: number };

const d = DEFAULT_SYNTHESIS;
export const DEFAULT_SYNTH: SynthForm = {
  samples: d.samples, heldout: d.heldout, maxTurns: d.maxTurns, seed: 0, maxNewTokens: d.maxNewTokens, reasonTokens: d.reasonTokens, seedInputs: '', maxRounds: null,
  makeParts: false, userTurnTopP: d.userTurnTopP,
};

/** The quality figures' sentences, in the words genpi and train have for them, for the figures panel. */
export interface FiguresWords {
  /** "wrote 41 of 64 records asked (...)", or null when nothing is short. */
  shortfall: string | null;
  /** The parts written with the records, or why none were; null for figures saved before parts were recorded. */
  parts: string | null;
  coverage: string | null;
}

export function figuresWords(f: DatasetFigures): FiguresWords {
  return {
    shortfall: shortfallMessage(f),
    parts: !f.parts ? null : f.parts.length ? partsText(f.parts) : 'not written (the prompt-generation variants make them before training)',
    coverage: f.coverage ? coverageText(f.coverage) : null,
  };
}

export class DatasetState {
  form = $state<SynthForm>({ ...DEFAULT_SYNTH });
  records = $state.raw<GenpiRecord[]>([]);
  figures = $state.raw<DatasetFigures | null>(null);
  /** Identity and provenance of the dataset on screen (null before the first synthesis or import). */
  id = $state<string | null>(null);
  name = $state('');
  created = 0;
  /** The model it was synthesized with (or loaded when imported). */
  madeWith = $state.raw<ModelRef>({ id: '', weightHash: '' });
  prompt = $state.raw<StoredPrompt | null>(null);
  settings = $state.raw<SynthesisSettings | null>(null);

  progress = $state.raw<SynthesisProgress | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** A calm word on how the last synthesis ended when it did not finish by itself (the user cancelled it). */
  notice = $state('');
  importErrors = $state.raw<JsonlLineError[]>([]);
  importedFrom = $state('');
  private readonly job: WorkerJob;

  constructor(
    private readonly engine: EngineClient,
    private readonly store: StoreState,
    private readonly models: ModelState,
    private readonly promptState: PromptState,
    gate: JobGate,
  ) {
    this.job = new WorkerJob(engine, gate, 'synth', 'synthesis');
  }

  get running(): boolean {
    return this.job.running;
  }

  /** The synthesis stage running, by name ("pseudo inputs"), or null when none is. */
  get stageName(): string | null {
    return this.progress ? STAGE_NAMES[this.progress.stage] : null;
  }

  get heldoutInputs(): string[] {
    return this.records.filter((r) => r.split === 'heldout').map((r) => r.input);
  }

  get trainCount(): number {
    return this.records.filter((r) => r.split === 'train').length;
  }

  async synthesize(): Promise<void> {
    this.error = null;
    this.notice = '';
    const p = this.promptState;
    try {
      if (!this.models.summary) throw new Error('Load a model first (step 1).');
      if (p.parsed.error) throw new Error(`The prompt does not parse: ${p.parsed.error.message}`);
      if (!p.text.trim()) throw new Error('Write or pick a prompt first (step 1).');
      if (p.patternError) throw new Error(`The action pattern is not a valid regular expression: ${p.patternError}`);
      const settings = this.formSettings();
      const prompt = p.stored;
      const model = this.models.ref!;
      this.progress = null;
      const out = await this.job.run((jobId) =>
        this.engine.synthesize(jobId, prompt.text, settings, Comlink.proxy((pr: SynthesisProgress) => (this.progress = pr))),
      );
      const now = Date.now();
      this.id = newId('dataset');
      this.created = now;
      this.name = `${p.presetTitle ?? 'dataset'} ${formatDate(now)}`;
      this.records = out.records;
      this.figures = out.figures;
      this.madeWith = model;
      this.prompt = prompt;
      this.settings = settings;
      this.importErrors = [];
      this.importedFrom = '';
      await this.save();
    } catch (e) {
      const error = errorInfo(e);
      if (isCancelled(error)) this.notice = `Synthesis cancelled; ${this.records.length ? 'the dataset below is the one from before' : 'nothing was kept'}.`;
      else this.error = error;
    }
  }

  cancel(): void {
    this.job.cancel();
  }

  /** The form as the worker's settings, with the prompt panel's environment and action pattern. */
  private formSettings(): SynthesisSettings {
    const { seedInputs, maxRounds, makeParts, ...f } = $state.snapshot(this.form);
    const p = this.promptState;
    return {
      ...f, ...(maxRounds == null ? {} : { maxRounds }), parts: makeParts ? [...OPTIONAL_PARTS] : [],
      seedInputs: lines(seedInputs), environment: $state.snapshot(p.environment), actionPattern: p.actionPattern,
    };
  }

  async update(id: string, patch: RecordPatch): Promise<void> {
    this.records = this.records.map((r) => (r.id === id ? editRecord(r, patch) : r));
    await this.save();
  }

  /** The records with parts written before a training run (AS-IS answers, reasons), kept and saved. */
  async adoptRecords(records: GenpiRecord[]): Promise<void> {
    this.records = records;
    if (this.figures) this.figures = { ...this.figures, parts: OPTIONAL_PARTS.filter((x) => records.every((r) => recordParts(r).includes(x))) };
    await this.save();
  }

  async remove(id: string): Promise<void> {
    this.records = this.records.filter((r) => r.id !== id);
    await this.save();
  }

  /** Reads a JSONL file: every good record kept, every bad line listed by number. */
  async importFile(file: File): Promise<void> {
    this.error = null;
    try {
      // Decoded as every text file is (a UTF-16 export from a Windows editor too), not as UTF-8 regardless.
      const { records, errors } = readDataset(decodeTextFile(new Uint8Array(await file.arrayBuffer()), file.name), file.name);
      const now = Date.now();
      this.id = newId('dataset');
      this.created = now;
      this.name = file.name.replace(/\.jsonl?$/i, '');
      this.records = records;
      this.figures = null;
      this.importErrors = errors;
      this.importedFrom = file.name;
      this.madeWith = this.models.ref ?? { id: '', weightHash: '' };
      this.prompt = this.promptState.stored;
      this.settings = null;
      await this.save();
    } catch (e) {
      this.error = errorInfo(e);
    }
  }

  exportJsonl(): void {
    download(safeFileName(this.name || 'dataset', 'jsonl'), datasetJsonl(this.records), 'application/x-ndjson');
  }

  exportTrl(): void {
    const prompt = this.prompt?.text || this.promptState.text;
    download(safeFileName(`${this.name || 'dataset'}-trl`, 'jsonl'), datasetTrlJsonl(this.records, prompt), 'application/x-ndjson');
  }

  toStored(): StoredDataset | null {
    if (!this.id) return null;
    return {
      id: this.id, name: this.name, created: this.created, updated: Date.now(), model: this.madeWith,
      prompt: this.prompt ?? this.promptState.stored,
      settings: this.settings ?? this.formSettings(),
      records: this.records, figures: this.figures,
    };
  }

  /** Saves the dataset on screen; a refusal is shown by the store banner and the records stay here. */
  save(): Promise<boolean> {
    const d = this.toStored();
    return d ? this.store.save(`dataset "${d.name}"`, (s) => s.putDataset(d)) : Promise.resolve(false);
  }

  restore(d: StoredDataset): void {
    this.id = d.id;
    this.name = d.name;
    this.created = d.created;
    this.madeWith = d.model;
    this.prompt = d.prompt;
    this.settings = d.settings;
    this.records = d.records;
    this.figures = d.figures;
    this.importErrors = [];
    this.form.samples = d.settings.samples;
    this.form.heldout = d.settings.heldout;
    this.form.maxTurns = d.settings.maxTurns;
    this.form.seed = d.settings.seed;
    this.form.maxNewTokens = d.settings.maxNewTokens;
    this.form.reasonTokens = d.settings.reasonTokens ?? DEFAULT_SYNTH.reasonTokens;
    this.form.seedInputs = d.settings.seedInputs.join('\n');
    this.form.maxRounds = d.settings.maxRounds ?? null;
    this.form.userTurnTopP = d.settings.userTurnTopP ?? DEFAULT_SYNTH.userTurnTopP;
    this.form.makeParts = (d.settings.parts?.length ?? 0) > 0;
  }

  /** The most recently updated saved dataset, if any. */
  async restoreLatest(): Promise<StoredDataset | null> {
    const all = await this.store.read((s) => s.listDatasets());
    const latest = all?.slice().sort((a, b) => b.updated - a.updated)[0];
    if (latest) this.restore(latest);
    return latest ?? null;
  }
}
