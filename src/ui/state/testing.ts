// Fakes for the UI state's unit tests: a scripted engine (the EngineClient methods the state classes call, answering
// at once or when the test says) and the state classes wired as AppState wires them, over fake-indexeddb. AppState
// itself is not built: its default engine imports the worker bundle, which needs Vite's worker build.
import type { GenpiRecord } from '../../genpi/dataset';
import type { MemoryPlan } from '../../llama/planner';
import { GenpiStore } from '../../store/repo';
import type { StoredDataset } from '../../store/schema';
import { freshIndexedDB } from '../../store/testing';
import type { Checkpoint, CurvePoint } from '../../train/loop';
import type { ChatRequest, ModelSummary, PromptReport, TrainCallbacks, TrainPlanReport, TrainResult, TrainSettings } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { TINY_SOURCE } from '../curated-models';
import { ChatState } from './chat.svelte';
import { DatasetState } from './dataset.svelte';
import { JobGate } from './jobs.svelte';
import { LibraryState } from './library.svelte';
import { ModelState } from './model.svelte';
import { PromptState } from './prompt.svelte';
import { StoreState } from './store.svelte';
import { TrainingState } from './training.svelte';

/** A promise with its resolve and reject at hand, for answers the test releases when it chooses. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An error as comlink hands a worker's typed error to the page: a plain Error that keeps the name. */
export function namedError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

const MEMORY = { weights: 1, activations: 1, backward: 1, head: 1, lora: 1, total: 5, recompute: false } satisfies MemoryPlan;
/** LoRA values per checkpoint array: big enough that a small simulated quota refuses a checkpoint. */
export const LORA_SIZE = 2048;

/**
 * How the fake's next training runs: `steps` optimizer steps in all (from a resumed checkpoint's step on), a
 * checkpoint every `checkpointEvery` of the run's settings; after step `holdAt` it waits until cancel() (then it
 * stops, as the worker does on pause or cancel) or `release()`; after step `failAt` it throws `error`.
 */
export interface TrainScript {
  steps: number;
  holdAt?: number;
  failAt?: number;
  error?: Error;
}

export class FakeEngine {
  readonly cancelled: string[] = [];
  readonly trainCalls: { jobId: string; settings: TrainSettings; resume: Checkpoint | undefined }[] = [];
  readonly chatCalls: { jobId: string; request: ChatRequest }[] = [];
  script: TrainScript = { steps: 3 };
  /** Resolves when a held training run reaches its hold. */
  held = deferred<string>();
  private release = deferred<void>();
  private readonly stops = new Map<string, () => void>();

  /** Scripted by the tests that need a slow or failing plan; by default the plan for `script.steps` steps. */
  planTraining = async (_prompt: string, records: GenpiRecord[], _s: TrainSettings): Promise<TrainPlanReport> => ({
    examples: records.length, sequences: 2 * records.length, longestSequence: 64, steps: this.script.steps,
    epochs: this.script.steps, batchSize: records.length, reason: 'sized by the fake', warning: null,
    stopping: 'the fake takes every step', memory: MEMORY,
    deviceLimit: 1e9, makeParts: null,
  });

  readonly thinkingCalls: boolean[] = [];
  /** The loaded model's summary with its thinking mode set, as the worker answers. */
  setThinking = async (on: boolean): Promise<ModelSummary> => {
    this.thinkingCalls.push(on);
    return { ...SUMMARY, tokenizer: { ...SUMMARY.tokenizer, thinking: on } };
  };

  /** By default one reply, streamed in two pieces. */
  chat = async (jobId: string, request: ChatRequest, onText?: (t: string) => void): Promise<string> => {
    this.chatCalls.push({ jobId, request });
    onText?.('he');
    onText?.('hello');
    return 'hello';
  };

  async inspectPrompt(text: string): Promise<PromptReport> {
    return { format: 'text', system: text, examples: [], report: 'system text', tokens: 5, maxTokens: 1700, room: 'P: 5 tokens of at most 1700 on this model' };
  }

  cancel(jobId: string): void {
    this.cancelled.push(jobId);
    this.stops.get(jobId)?.();
  }

  /** Lets a held training run go on to its end. */
  releaseHold(): void {
    this.release.resolve();
  }

  async train(jobId: string, _prompt: string, _records: GenpiRecord[], settings: TrainSettings, callbacks: TrainCallbacks,
    resume?: Checkpoint): Promise<TrainResult> {
    this.trainCalls.push({ jobId, settings, resume });
    const script = this.script;
    let cancelled = false;
    const stopped = new Promise<void>((res) => this.stops.set(jobId, () => ((cancelled = true), res())));
    let curve: CurvePoint[] = resume?.curve ?? [];
    let step = resume?.step ?? 0;
    const result = (stop: boolean): TrainResult => ({
      adapter: { spec: settings.lora, params: new Float32Array(LORA_SIZE).fill(step) }, curve, steps: step, stopped: stop,
      stoppedEarly: false, best: null, memory: MEMORY,
    });
    while (step < script.steps) {
      step++;
      const point: CurvePoint = { step, loss: 3 - step / 10, sft: 2, pg: 1, kl: null, lr: 1e-4, gradNorm: 1, tokens: 100 };
      curve = [...curve, point];
      callbacks.onStep?.({ ...point, totalSteps: script.steps, seconds: step, tokensPerSecond: 100, etaSeconds: 1 });
      if (step % settings.checkpointEvery === 0) {
        const values = () => new Float32Array(LORA_SIZE).fill(step);
        // on_policy's checkpoints also hold the params its epoch's samples came from, as the worker's do.
        const epochStart = settings.loss.variant === 'on_policy' ? { epochStart: values() } : {};
        await callbacks.onCheckpoint?.({ step, params: values(), m: values(), v: values(), curve, ...epochStart });
      }
      if (step === script.failAt) throw script.error ?? namedError('Error', 'the fake failed');
      if (step === script.holdAt) {
        this.held.resolve(jobId);
        await Promise.race([stopped, this.release.promise]);
      }
      if (cancelled) return result(true);
    }
    return result(false);
  }

  get client(): EngineClient {
    return this as unknown as EngineClient;
  }
}

/** The loaded model as the worker would describe it: only the fields the state classes read are real. */
export const SUMMARY = {
  source: 'tiny:test', weightHash: 'abc123', architecture: 'llama', hidden_size: 8, intermediate_size: 16,
  num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 32,
  max_position_embeddings: 128, tie_word_embeddings: true, parameters: 1000, untrained: true, tokenizer: { thinking: null },
} as unknown as ModelSummary;

function record(i: number, split: GenpiRecord['split']): GenpiRecord {
  const input = `question ${i}`;
  return {
    id: `r${i}`, input, as_is: 'as is', to_be: 'to be', reason: 'because', split, settings: {},
    conversation: [{ role: 'user', content: input }, { role: 'assistant', content: 'to be' }],
  };
}

/** A saved dataset of three training records and one held out, made with the fake's model. */
export function trainingDataset(): StoredDataset {
  const environment = { name: 'user', description: 'a user', endMarker: '[END]' };
  return {
    id: 'dataset-1', name: 'terse', created: 1000, updated: 1000, model: { id: SUMMARY.source, weightHash: SUMMARY.weightHash },
    prompt: { text: 'You are terse.', environment, actionPattern: '' },
    settings: { samples: 4, heldout: 1, maxTurns: 1, seed: 0, maxNewTokens: 64, reasonTokens: 64, seedInputs: [], environment, actionPattern: '' },
    records: [record(1, 'train'), record(2, 'train'), record(3, 'train'), record(4, 'heldout')],
    figures: null,
  };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * The page's state over a fake engine, the model loaded and a store open. `fresh: false` reopens the IndexedDB the
 * last call left (a reload); `quotaBytes` simulates a small disk.
 */
export async function testApp(o: { fresh?: boolean; quotaBytes?: number } = {}) {
  if (o.fresh !== false) freshIndexedDB();
  const engine = new FakeEngine();
  const client = engine.client;
  const gate = new JobGate();
  const store = new StoreState();
  store.store = await GenpiStore.open('genpi', { quotaBytes: o.quotaBytes });
  const model = new ModelState(client, gate);
  model.summary = SUMMARY;
  model.lastSource = { ...TINY_SOURCE };
  const prompt = new PromptState(client, model, store);
  const dataset = new DatasetState(client, store, model, prompt, gate);
  const library = new LibraryState(store, model);
  const training = new TrainingState(client, store, model, prompt, dataset, library, gate);
  const chat = new ChatState(client, model, prompt, dataset, library, gate);
  return { engine, gate, store, model, prompt, dataset, library, training, chat };
}
