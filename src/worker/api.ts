// The one typed contract between the page and the engine worker (comlink). Every call the UI makes is here.
// Long calls take a job id (cancel(jobId) stops them at the next step) and report through proxied callbacks;
// large arrays (adapter params, checkpoints) cross as transferred Float32Arrays.
import type { Diff } from '../gpu/compare';
import type { GpuSummary } from '../gpu/device';
import type { DatasetFigures, GenpiRecord } from '../genpi/dataset';
import type { TestbedKind } from '../genpi/demo-models';
import type { EvalFigures } from '../genpi/evaluate';
import type { SynthesisSettings, TrainSettings } from '../genpi/settings';
import type { SynthesisStage } from '../genpi/synthesis-stages';
import type { LoraSpec } from '../llama/lora';
import type { MemoryPlan } from '../llama/planner';
import type { DownloadProgress } from '../model/hub';
import type { describeModel } from '../model/open';
import type { ChatMessage } from '../model/tokenizer';
import type { TeacherPassStats } from '../train/distill';
import type { Checkpoint, CurvePoint } from '../train/loop';

// The settings types live below the worker (the store keeps them too); the UI takes them from here.
export type { SynthesisSettings, TrainSettings };

/** Errors cross the worker boundary as plain data: the name picks the UI's message, the text is shown as is. */
export interface ErrorInfo {
  name: string;
  message: string;
}

export interface GpuReport {
  gpu: GpuSummary | null;
  error: ErrorInfo | null;
  /** add_forward on the device checked against the float64 reference; null when there is no device. */
  selfTest: { kernel: string; diff: Diff; ms: number } | null;
}

/** Where a model comes from: the hub (downloaded into the browser's private storage), a picked folder, or made here. */
export type ModelSource =
  | { kind: 'hub'; id: string; baseUrl?: string; revision?: string }
  | { kind: 'folder'; name: string; files: { path: string; file: File }[] }
  | { kind: 'tiny'; arch: 'llama' | 'qwen2'; seed: number }
  /** A testbed model shipped with the app (public/demo-model by default), read from `baseUrl`, the app's own origin. */
  | { kind: 'demo'; baseUrl: string; model?: TestbedKind };

export interface ModelSummary extends ReturnType<typeof describeModel> {
  source: string;
  /** True for the built-in tiny random model: it runs the whole flow but its text is noise. */
  untrained: boolean;
  /** Set for a testbed model (its folder has the marker), trained to follow what its system prompt states:
   * evaluation scores it exactly. 'single': one rule per P (public/demo-model); 'compound': a rule per kind of message. */
  testbed?: TestbedKind;
  /** A hash of the weights: adapters record it and refuse another model. */
  weightHash: string;
  tokenizer: {
    vocabSize: number;
    eosTokenIds: number[];
    endOfTurnIds: number[];
    /** A one-message conversation through the model's chat template, and its token count. */
    chatSample: string;
    chatSampleTokens: number;
    /** Thinking on or off in every job of this model (Qwen3's enable_thinking); null: the template has no such mode. */
    thinking: boolean | null;
  };
}

/** How P was read, with its size in the loaded model's tokens. */
export interface PromptReport {
  format: 'text' | 'turns' | 'json';
  system: string;
  examples: ChatMessage[];
  report: string;
  /** P through the chat template (system message and example turns). */
  tokens: number;
  /** The most P may have on the loaded model, and the sentence saying so and why (genpi/prompt-room.ts). */
  maxTokens: number;
  room: string;
}

/** The synthesis stage running and its count (also the stages of parts made before training). */
export type SynthesisProgress = SynthesisStage;

/** What a run will need, computed before it starts (no GPU work). */
export interface TrainPlanReport {
  examples: number;
  sequences: number;
  longestSequence: number;
  steps: number;
  /** The epochs and effective batch the run uses: the settings' own, or the ones sized to the records. */
  epochs: number;
  batchSize: number;
  /** One sentence: which of the two the user set, which were chosen, and why. */
  reason: string;
  /** What is written before training (AS-IS answers, reasons the variant reads and the dataset lacks), or null. */
  makeParts: string | null;
  /** Set when the run has few optimizer steps, so the adapter may learn little. */
  warning: string | null;
  /** When the run ends: at most `steps`, and the held-out rule that may stop it sooner, or why it takes them all. */
  stopping: string;
  memory: MemoryPlan;
  /** Bytes the device allows; the plan must fit under it. */
  deviceLimit: number;
}

export interface TrainStep extends CurvePoint {
  totalSteps: number;
  seconds: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

/** An adapter as the worker needs it: the spec (the layout follows from the loaded model) and its params. */
export interface AdapterData {
  spec: LoraSpec;
  params: Float32Array;
}

export interface ExportProgress {
  /** 0..1 */
  fraction: number;
  stage: string;
}

/**
 * The GGUF files the app writes for llama.cpp and Ollama: the model with the adapter merged (f16, or q8_0 at about
 * half the size), or the adapter alone as a GGUF LoRA adapter for a base GGUF of the model it was trained on.
 */
export type GgufKind = 'f16' | 'q8_0' | 'lora';

/** Where a GGUF export goes, part by part: the page's file on disk or its download. Each call is awaited. */
export interface GgufSink {
  /** The file's exact size, before any weight is read: the page refuses here a file it cannot hold. */
  start(bytes: number): unknown;
  /** The next bytes of the file, in order. */
  write(part: Uint8Array): unknown;
}

export interface TrainResult {
  adapter: AdapterData;
  curve: CurvePoint[];
  steps: number;
  /** True when cancel() or pause stopped it; the last checkpoint was sent through onCheckpoint first. */
  stopped: boolean;
  /** True when the held-out score ended the run before its plan's last step. */
  stoppedEarly: boolean;
  /** The best held-out score (the adapter is that step's), or null when the run was not scored. */
  best: { step: number; score: number; metric: 'kl' | 'ce' } | null;
  memory: MemoryPlan;
  /** The teacher pass of a distilling variant (P's KV once, then the records): tokens run, bytes read back, time. */
  teacher?: TeacherPassStats | null;
}

export interface TrainCallbacks {
  onStep?: (s: TrainStep) => void;
  /** Every checkpointEvery steps and when stopped; the arrays are transferred. Awaited before training goes on. */
  onCheckpoint?: (c: Checkpoint) => Promise<void> | void;
  /** While the AS-IS answers and reasons the plan names are written, before the first step. */
  onParts?: (p: SynthesisProgress) => void;
  /** The dataset with those parts written (a copy), so the page keeps them; awaited before training starts. */
  onPartsMade?: (records: GenpiRecord[]) => Promise<void> | void;
}

export interface EvalRequest {
  prompt: string;
  inputs: string[];
  adapter: AdapterData;
  maxNewTokens: number;
  actionPattern: string;
  /** User turns per conversation scored on a testbed model [3]; later turns are not run without a checker. */
  turns?: number;
}

export type ChatSide = 'teacher' | 'student' | 'base';

export interface ChatRequest {
  /** teacher: P in front, no adapter; student: the adapter, no P; base: neither. */
  side: ChatSide;
  prompt: string;
  messages: ChatMessage[];
  adapter: AdapterData | null;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

export interface WorkerApi {
  /** Opens the WebGPU device (once) and proves it computes; never throws, errors come back in the report. */
  info(): Promise<GpuReport>;
  /** Downloads (or finds in the cache), makes or reads a model, checks it and puts it on the GPU. Typed errors. */
  loadModel(source: ModelSource, onProgress?: (p: DownloadProgress) => void, opts?: { thinking?: boolean }): Promise<ModelSummary>;
  /** Thinking on or off (off unless turned on) for every later job of the loaded model; its summary after. */
  setThinking(on: boolean): Promise<ModelSummary>;
  /** Hub models complete in the browser's cache: id and bytes. */
  cachedModels(): Promise<{ id: string; bytes: number }[]>;
  deleteCachedModel(id: string): Promise<void>;

  /** Parses P (PromptError when it cannot), counts its tokens with the loaded model's template, and says how many fit. */
  inspectPrompt(text: string, maxNewTokens?: number): Promise<PromptReport>;
  synthesize(jobId: string, prompt: string, settings: SynthesisSettings,
    onProgress?: (p: SynthesisProgress) => void): Promise<{ records: GenpiRecord[]; figures: DatasetFigures }>;
  /** Sequences, steps and memory for a run, or the typed error that says why it cannot run (too long, no room). */
  planTraining(prompt: string, records: GenpiRecord[], settings: TrainSettings): Promise<TrainPlanReport>;
  /** Trains from scratch, or from `resume` (a checkpoint of the same run settings); stops early on cancel(jobId). */
  train(jobId: string, prompt: string, records: GenpiRecord[], settings: TrainSettings, callbacks: TrainCallbacks,
    resume?: Checkpoint): Promise<TrainResult>;
  evaluate(jobId: string, request: EvalRequest, onProgress?: (stage: string) => void): Promise<EvalFigures>;
  /** One reply, streamed through onText (the text so far). */
  chat(jobId: string, request: ChatRequest, onText?: (text: string) => void): Promise<string>;
  /**
   * The loaded model with the adapter merged, as a transformers.js folder (config, tokenizer, onnx/model.onnx or
   * model_fp16.onnx) in one .zip; progress after each layer, stops on cancel(jobId).
   */
  exportOnnx(jobId: string, adapter: AdapterData, dtype: 'f32' | 'f16', onProgress?: (p: ExportProgress) => void): Promise<Uint8Array>;
  /**
   * The loaded model with the adapter merged as one GGUF file, or the adapter alone (`lora`), streamed to `sink`
   * (named `name` inside the file); progress after each tensor, stops on cancel(jobId). Resolves with the bytes written.
   */
  exportGguf(jobId: string, adapter: AdapterData, kind: GgufKind, name: string, sink: GgufSink,
    onProgress?: (p: ExportProgress) => void): Promise<number>;
  /** Stops a running job at its next step; unknown or finished ids are ignored. */
  cancel(jobId: string): void;
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
