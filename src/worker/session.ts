// The engine behind WorkerApi, free of comlink and browser globals so Node tests drive it exactly as the worker
// does: the loaded model on the GPU, one generator sized for the longest job so far, the adapters the page sends,
// and the jobs (one at a time, each cancellable). A lost device fails the running job with advice to reload.
import type { DeviceLostError } from '../gpu/errors';
import type { Kernels } from '../gpu/kernel';
import { chatTokens } from '../genpi/chat';
import type { GenpiRecord } from '../genpi/dataset';
import { evaluate } from '../genpi/evaluate';
import { behaviourChecker } from '../genpi/behaviour';
import { turnMessages } from '../genpi/eval-turns';
import { parsePrompt, type ParsedPrompt } from '../genpi/prompt';
import { synthesisSlotTokens } from '../genpi/synthesis-slots';
import { synthesize } from '../genpi/synthesize';
import { promptRoom } from '../genpi/prompt-room';
import { makeParts, partsPlan, partsSettingsOf, partsSlotTokens } from '../genpi/record-parts';
import { DEFAULT_SYNTHESIS } from '../genpi/synthesis-defaults';
import { partsRead } from '../train/sequences';
import type { TrainingVariant } from '../train/variants';
import { planRun, trainPlanned } from '../genpi/train-adapter';
import { LlamaEngine } from '../llama/engine';
import { zipFiles } from '../store/zip';
import { Generator } from '../llama/generator';
import type { ModelCache } from '../model/cache';
import type { DownloadProgress } from '../model/hub';
import { stepPlan, type Checkpoint } from '../train/loop';
import { idleScheduleWarning } from '../train/schedule';
import { AdapterCache, adapterFor } from './adapters';
import type {
  AdapterData, ChatRequest, EvalRequest, ExportProgress, GgufKind, GgufSink, ModelSource, ModelSummary, PromptReport, SynthesisProgress,
  SynthesisSettings, TrainCallbacks, TrainPlanReport, TrainResult, TrainSettings,
} from './api';
import { deviceLostInJob, NoModelError, RequestError } from './errors';
import { writeGguf } from './gguf-export';
import { Jobs, notifier } from './jobs';
import { modelIdOf } from './model-labels';
import { loadModelFiles, tokenizerSummary, type LoadedModel } from './models';
import { actionPattern, checkResume, trainAdapterSettings } from './requests';
import { checkModelFits, generatorSize, trainingBudget, type GeneratorSize } from './sizing';

export interface SessionOptions {
  /** Where hub downloads go (OPFS in the browser); without one, hub models are refused. */
  modelCache?: ModelCache;
}

interface Loaded extends LoadedModel {
  engine: LlamaEngine;
}

interface Gen {
  generator: Generator;
  size: GeneratorSize;
  adapters: AdapterCache;
}

/** Slot lengths grow in steps, so a conversation that grows by a few tokens a turn does not rebuild every turn. */
const SLOT_STEP = 512;

export class EngineSession {
  private loaded: Loaded | undefined;
  private gen: Gen | undefined;
  private readonly jobs = new Jobs();
  private lost: DeviceLostError | undefined;
  /** The rejecters of the guarded work in flight, called when the device is lost. */
  private readonly onLost = new Set<(e: Error) => void>();

  constructor(readonly kernels: Kernels, private readonly opts: SessionOptions = {}) {
    void kernels.ctx.lost.then((e) => {
      if (!e) return; // destroy(): the owner is done with the device
      this.lost = deviceLostInJob(e);
      this.jobs.abortAll(this.lost);
      // The device took every buffer with it: drop the references, nothing is left to destroy.
      this.loaded = undefined;
      this.gen = undefined;
      for (const fail of this.onLost) fail(this.lost);
    });
  }

  /** Fails with the device-lost error as soon as the device is lost, whatever the work was waiting on. */
  private guard<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // After a loss, the work's own failure (if it ever comes) is not news: the loss is the error.
      const settle = work.then(resolve, (e) => reject(this.lost ?? e));
      if (this.lost) return reject(this.lost);
      this.onLost.add(reject);
      void settle.finally(() => this.onLost.delete(reject));
    });
  }

  private job<T>(jobId: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.jobs.run(jobId, (signal) => this.guard(fn(signal)));
  }

  private model(what: string): Loaded {
    if (this.lost) throw this.lost;
    if (!this.loaded) throw new NoModelError(what);
    return this.loaded;
  }

  cancel(jobId: string): void {
    this.jobs.cancel(jobId);
  }

  async loadModel(source: ModelSource, onProgress?: (p: DownloadProgress) => void, opts: { thinking?: boolean } = {}): Promise<ModelSummary> {
    return this.jobs.exclusive(() => this.guard((async () => {
      if (this.lost) throw this.lost;
      const files = await loadModelFiles(source, this.opts.modelCache, notifier(onProgress), opts.thinking ?? false);
      checkModelFits(files.model.config, this.kernels.f16, this.kernels.ctx.limits);
      // The old model goes first: two models may not fit on the GPU together.
      this.unload();
      const engine = await LlamaEngine.load(this.kernels, files.model);
      this.loaded = { ...files, engine };
      return files.summary;
    })()));
  }

  /**
   * Thinking on or off for every later job of the loaded model (between jobs, never during one). The generator goes,
   * as it holds the tokenizer; the weights stay.
   */
  async setThinking(on: boolean): Promise<ModelSummary> {
    return this.jobs.exclusive(async () => {
      const m = this.model('Changing the thinking mode');
      if (m.tokenizer.hasThinkingMode && m.tokenizer.thinking !== on) {
        this.dropGenerator();
        m.tokenizer = m.tokenizer.withThinking(on);
        m.summary = { ...m.summary, tokenizer: tokenizerSummary(m.tokenizer) };
      }
      return m.summary;
    });
  }

  /** Frees the model and the generator (the session stays usable: load another model). */
  unload(): void {
    this.dropGenerator();
    this.loaded?.engine.destroy();
    this.loaded = undefined;
  }

  private dropGenerator(): void {
    this.gen?.generator.destroy();
    this.gen = undefined;
  }

  /** A generator whose slots hold `slotLength` tokens: the current one if long enough, else a longer one. */
  private generator(m: Loaded, slotLength: number): Gen {
    const cfg = m.engine.cfg;
    const want = Math.min(cfg.maxPositionEmbeddings, Math.ceil(slotLength / SLOT_STEP) * SLOT_STEP);
    if (this.gen && this.gen.size.slotLength >= Math.min(slotLength, cfg.maxPositionEmbeddings)) return this.gen;
    this.dropGenerator();
    const size = generatorSize(cfg, this.kernels.ctx.limits, want);
    const generator = new Generator(m.engine, { tokenizer: m.tokenizer, ...size });
    this.gen = { generator, size, adapters: new AdapterCache(generator) };
    return this.gen;
  }

  async inspectPrompt(text: string, maxNewTokens = DEFAULT_SYNTHESIS.maxNewTokens): Promise<PromptReport> {
    const m = this.model("Counting the prompt's tokens");
    const p = parsePrompt(text);
    const room = promptRoom(m.tokenizer, p, m.engine.cfg.maxPositionEmbeddings, maxNewTokens);
    return { format: p.format, system: p.system, examples: p.examples, report: p.report, tokens: room.tokens, maxTokens: room.max, room: room.sentence };
  }

  synthesize(jobId: string, prompt: string, settings: SynthesisSettings, onProgress?: (p: SynthesisProgress) => void) {
    return this.job(jobId, async (signal) => {
      signal.throwIfAborted();
      const m = this.model('Synthesis');
      const p = parsePrompt(prompt);
      const maxNew = settings.maxNewTokens;
      // The CLI's sizing: the longest request synthesis makes with these settings, and its reply.
      const { generator } = this.generator(m, synthesisSlotTokens(m.tokenizer, p, { ...settings, maxNewTokens: maxNew }));
      const out = await synthesize(generator, m.tokenizer, p, {
        samples: settings.samples, heldout: settings.heldout, maxTurns: settings.maxTurns, seed: settings.seed,
        seedInputs: settings.seedInputs, environment: settings.environment, actionPattern: actionPattern(settings.actionPattern),
        maxNewTokens: maxNew, reasonTokens: settings.reasonTokens, maxRounds: settings.maxRounds, parts: settings.parts, signal,
        chainTurns: settings.chainTurns, userTurnTopP: settings.userTurnTopP, userTurnMinP: settings.userTurnMinP, inputPool: settings.inputPool,
        onProgress: notifier(onProgress), checker: m.summary.testbed ? behaviourChecker(prompt) : null,
      });
      // P travels with the data (as `genpi synthesize` writes it), so an exported dataset trains without P beside it;
      // so does the thinking mode, which genpi train then defaults to.
      const thinking = m.tokenizer.hasThinkingMode ? { thinking: m.tokenizer.thinking } : {};
      for (const r of out.records) r.settings = { ...r.settings, prompt: p.text, ...thinking };
      return out;
    });
  }

  /** The run's sequences, steps and memory, from the tokenizer and the planner alone (no GPU work). */
  async planTraining(prompt: string, records: GenpiRecord[], settings: TrainSettings): Promise<TrainPlanReport> {
    const m = this.model('Planning a training run');
    return this.plan(m, parsePrompt(prompt), records, settings).report;
  }

  private plan(m: Loaded, p: ParsedPrompt, records: GenpiRecord[], settings: TrainSettings) {
    const budget = trainingBudget(m.engine.cfg, this.kernels.f16, this.kernels.ctx.limits);
    const { settings: s, size } = trainAdapterSettings(settings, records, budget);
    const run = planRun(m.engine, m.tokenizer, records, p, s);
    const { set, plan, stopping } = run;
    const steps = stepPlan(set.sft.length, s.loop).length;
    const report: TrainPlanReport = {
      examples: set.sft.length,
      sequences: set.named.length,
      longestSequence: Math.max(...set.named.map((n) => n.seq.input_ids.length)),
      steps,
      epochs: size.epochs,
      batchSize: size.batchSize,
      reason: size.reason,
      makeParts: partsPlan(records, s.loss.variant),
      // The form shows one warning: a run that cannot change the adapter matters more than a short one.
      warning: idleScheduleWarning(steps, s.loop) ?? size.warning,
      stopping: s.earlyStop || settings.epochs === null ? stopping.text : `${stopping.text.replace(/ \(early stopping is off\)$/, '')}: the epochs you set fix the length`,
      memory: plan,
      deviceLimit: budget,
    };
    return { s, report, run };
  }

  train(jobId: string, prompt: string, records: GenpiRecord[], settings: TrainSettings, callbacks: TrainCallbacks = {},
    resume?: Checkpoint): Promise<TrainResult> {
    return this.job(jobId, async (signal) => {
      const m = this.model('Training');
      const p = parsePrompt(prompt);
      // Planning first: a run that cannot start says so before the generator is thrown away. Training takes this
      // plan as it is, unless parts are made below: their records' sequences change, so they are planned again.
      const { s, report, run: planned } = this.plan(m, p, records, settings);
      let run = planned;
      if (resume) checkResume(resume, run.layout.size, report.steps);
      // AS-IS answers and reasons the variant reads and the dataset lacks are made first, while the generator is here.
      const made = await this.makeMissingParts(m, p, records, s.loss.variant, signal, callbacks.onParts);
      if (made) {
        run = planRun(m.engine, m.tokenizer, made, p, s);
        await callbacks.onPartsMade?.(made);
      }
      // The trainer's activations need the room the KV cache holds; the next generation job builds a new one.
      this.dropGenerator();
      const onStep = notifier(callbacks.onStep);
      const firstStep = resume?.step ?? 0;
      let tokens = 0;
      const r = await trainPlanned(m.engine, m.tokenizer, run, {
        signal,
        onStep: (point) => {
          tokens += point.tokens;
          const perStep = point.seconds / Math.max(1, point.step - firstStep);
          onStep({ ...point, tokensPerSecond: tokens / Math.max(point.seconds, 1e-9), etaSeconds: (point.totalSteps - point.step) * perStep });
        },
        saveCheckpoint: async (c) => {
          // After a loss the arrays were read from a dead device: they must not replace the page's last good checkpoint.
          if (this.lost) return;
          await callbacks.onCheckpoint?.(c);
        },
      }, resume, m.summary.source);
      return {
        adapter: { spec: r.adapter.layout.spec, params: r.adapter.params }, curve: r.curve, steps: r.steps, stopped: r.cancelled,
        stoppedEarly: r.stoppedEarly, best: r.best, memory: r.plan, teacher: r.teacher,
      };
    });
  }

  /** The records with the parts `variant` reads made where they lacked them (a copy), or null when none lacked any. */
  private async makeMissingParts(m: Loaded, p: ParsedPrompt, records: GenpiRecord[], variant: TrainingVariant, signal: AbortSignal,
    onParts?: (s: SynthesisProgress) => void): Promise<GenpiRecord[] | null> {
    if (!partsPlan(records, variant)) return null;
    const copy = records.map((r) => ({ ...r, settings: { ...r.settings } }));
    const ps = partsSettingsOf(copy);
    const { generator } = this.generator(m, partsSlotTokens(m.tokenizer, p, copy, variant, ps));
    await makeParts(generator, m.tokenizer, p, copy, partsRead(variant), { ...ps, signal, onProgress: notifier(onParts) });
    signal.throwIfAborted();
    return copy;
  }

  evaluate(jobId: string, req: EvalRequest, onProgress?: (stage: string) => void) {
    return this.job(jobId, async (signal) => {
      signal.throwIfAborted();
      const m = this.model('Evaluation');
      if (!req.inputs.length) throw new RequestError('evaluation needs at least one input: keep some records held out when synthesizing');
      const p = parsePrompt(req.prompt);
      // On a testbed model, a P stating its rules is scored by their exact checker, per branch and over later turns.
      const checker = m.summary.testbed ? behaviourChecker(req.prompt) : null;
      const turns = checker ? Math.max(1, req.turns ?? 3) : 1;
      // The longest request is the teacher's last turn: P's messages, the turns' inputs, the earlier answers.
      const longest = Math.max(...req.inputs.map((_, i) => chatTokens(m.tokenizer, [...p.messages, ...turnMessages(req.inputs, i, turns - 1,
        Array.from({ length: turns - 1 }, () => req.inputs.map(() => ({ text: '', tokens: [], context: [], cut: false }))))]).prompt.length));
      const gen = this.generator(m, longest + turns * req.maxNewTokens + 1);
      const student = gen.adapters.use(req.adapter, m.summary.source);
      return evaluate(m.engine, gen.generator, m.tokenizer, p, req.inputs, student, {
        maxNewTokens: req.maxNewTokens, actionPattern: actionPattern(req.actionPattern), signal, onProgress: notifier(onProgress), checker, turns,
      });
    });
  }

  chat(jobId: string, req: ChatRequest, onText?: (text: string) => void): Promise<string> {
    return this.job(jobId, async (signal) => {
      signal.throwIfAborted();
      const m = this.model('Chat');
      if (!req.messages.length) throw new RequestError('a chat needs at least one message');
      if (req.side === 'student' && !req.adapter) throw new RequestError('the student side needs an adapter: train one or open a saved one');
      const p = req.side === 'teacher' ? parsePrompt(req.prompt) : null;
      const messages = p ? [...p.messages, ...req.messages] : req.messages;
      // P goes in as a shared prefix: prefilled once, reused by the next turns of the conversation.
      const { prefix, prompt } = chatTokens(m.tokenizer, messages, p?.messages.length ?? 0);
      const gen = this.generator(m, prefix.length + prompt.length + req.maxNewTokens + 1);
      const adapter = req.side === 'student' ? gen.adapters.use(req.adapter!, m.summary.source).name : null;
      const show = notifier(onText);
      let text = '';
      const [reply] = await gen.generator.generate([{
        prompt, prefix, adapter, maxNewTokens: req.maxNewTokens, temperature: req.temperature, topP: 0.9, seed: req.seed >>> 0, signal,
        onToken: (_token, piece) => {
          if (!piece) return;
          text += piece;
          show(text.trimStart());
        },
      }]);
      signal.throwIfAborted();
      return reply.text.trim();
    });
  }

  exportOnnx(jobId: string, adapter: AdapterData, dtype: 'f32' | 'f16', onProgress?: (p: ExportProgress) => void): Promise<Uint8Array> {
    return this.job(jobId, async (signal) => {
      signal.throwIfAborted();
      const m = this.model('The transformers.js export');
      // Loaded on first use: the ONNX encoder stays out of the worker's first download.
      const { exportOnnx } = await import('../export/merged-folder');
      const show = notifier(onProgress);
      const files = await exportOnnx(m.model, adapterFor(m.engine.cfg, adapter, modelIdOf(m.summary.source)), {
        dtype, signal, onProgress: (fraction, stage) => show({ fraction, stage }),
      });
      signal.throwIfAborted();
      const whole = (parts: Uint8Array[]) => {
        if (parts.length === 1) return parts[0];
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
        return out;
      };
      return zipFiles(new Map(files.map((f) => [f.name, whole(f.parts)])));
    });
  }

  exportGguf(jobId: string, adapter: AdapterData, kind: GgufKind, name: string, sink: GgufSink, onProgress?: (p: ExportProgress) => void): Promise<number> {
    return this.job(jobId, async (signal) => {
      const m = this.model('The GGUF export');
      return writeGguf(m.model, adapterFor(m.engine.cfg, adapter, modelIdOf(m.summary.source)), { kind, name, sink, signal, onProgress });
    });
  }
}
