// What the app keeps in IndexedDB, one typed schema (idb's DBSchema) for every store. The version and the
// migrations that reach it live in migrations.ts; a change here needs a new step there.
import type { DBSchema } from 'idb';
import type { AdapterMetadata } from '../genpi/adapter-meta';
import type { DatasetFigures, GenpiRecord } from '../genpi/dataset';
import type { EvalFigures } from '../genpi/evaluate';
import type { SynthesisSettings, TrainSettings } from '../genpi/settings';
import type { LoraSpec } from '../llama/lora';
import type { Checkpoint, CurvePoint } from '../train/loop';

/** The base model an adapter or run belongs to: its id (hub id, folder name or tiny:...) and weight hash. */
export interface ModelRef {
  id: string;
  weightHash: string;
}

export interface StoredPrompt {
  text: string;
  environment: SynthesisSettings['environment'];
  actionPattern: string;
}

export interface StoredDataset {
  id: string;
  name: string;
  created: number;
  updated: number;
  model: ModelRef;
  prompt: StoredPrompt;
  settings: SynthesisSettings;
  records: GenpiRecord[];
  figures: DatasetFigures | null;
}

export type RunStatus = 'running' | 'paused' | 'done' | 'cancelled' | 'failed';

export interface StoredRun {
  id: string;
  datasetId: string;
  created: number;
  updated: number;
  model: ModelRef;
  settings: TrainSettings;
  status: RunStatus;
  curve: CurvePoint[];
  totalSteps: number;
  /** The adapter it produced, once done. */
  adapterId: string | null;
  error: string | null;
  /** Wall-clock seconds trained so far, over every pause, resume and reload (absent in runs saved before it). */
  seconds?: number;
  /** The form as the user left it ("auto" epochs and batch as null), shown again when the run is resumed. */
  form?: TrainSettings;
}

/** The latest checkpoint of a run (one per run: a new one replaces the old). */
export interface StoredCheckpoint extends Checkpoint {
  runId: string;
  saved: number;
}

export interface StoredAdapter {
  id: string;
  name: string;
  created: number;
  model: ModelRef;
  spec: LoraSpec;
  params: Float32Array;
  /** genpi_adapter.json, written with the PEFT files on export. */
  meta: AdapterMetadata;
  runId: string | null;
  evaluation: EvalFigures | null;
}

export interface GenpiDB extends DBSchema {
  datasets: { key: string; value: StoredDataset; indexes: { updated: number } };
  runs: { key: string; value: StoredRun; indexes: { status: RunStatus; datasetId: string } };
  checkpoints: { key: string; value: StoredCheckpoint };
  adapters: { key: string; value: StoredAdapter; indexes: { created: number } };
  settings: { key: string; value: unknown };
}
