// WorkerApi over an EngineSession, as comlink exposes it: the GPU is opened on first use (and again after a loss),
// large arrays cross as transfers instead of copies, and every failure leaves as an Error whose name and message
// comlink carries to the page. Kept apart from worker.ts so Node tests can expose it on a MessageChannel.
import * as Comlink from 'comlink';
import { summarize, type GpuContext } from '../gpu/device';
import { createKernels, type Kernels } from '../gpu/kernel';
import type { ShaderSources } from '../gpu/registry';
import { selfTest } from '../gpu/selftest';
import type { ModelCache } from '../model/cache';
import type { Checkpoint } from '../train/loop';
import { toErrorInfo, type GpuReport, type WorkerApi } from './api';
import { cachedModels } from './models';
import { EngineSession } from './session';

interface Engine {
  ctx: GpuContext;
  kernels: Kernels;
  session: EngineSession;
}

/** Comlink sends thrown Errors as name + message; anything else thrown becomes one, so nothing arrives blank. */
function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  const o = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; message?: unknown };
  const err = new Error(typeof o.message === 'string' ? o.message : String(e));
  if (typeof o.name === 'string') err.name = o.name;
  return err;
}

async function rethrowing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw asError(e);
  }
}

const buffersOf = (...arrays: Float32Array[]) => [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];

export function createWorkerApi(acquire: () => Promise<GpuContext>, shaders: ShaderSources, cache: ModelCache): WorkerApi {
  let engine: Promise<Engine> | undefined;

  function open(): Promise<Engine> {
    if (!engine) {
      const opening: Promise<Engine> = acquire().then((ctx) => {
        // A lost device is dropped so the next call opens a fresh one (with a fresh session) instead of failing forever.
        void ctx.lost.then((lost) => {
          if (lost && engine === opening) engine = undefined;
        });
        const kernels = createKernels(ctx, shaders);
        return { ctx, kernels, session: new EngineSession(kernels, { modelCache: cache }) };
      });
      opening.catch(() => {
        if (engine === opening) engine = undefined;
      });
      engine = opening;
    }
    return engine;
  }
  const session = async () => (await open()).session;

  return {
    async info(): Promise<GpuReport> {
      try {
        const { ctx, kernels } = await open();
        return { gpu: summarize(ctx), error: null, selfTest: await selfTest(ctx, kernels.registry) };
      } catch (e) {
        return { gpu: null, error: toErrorInfo(e), selfTest: null };
      }
    },

    loadModel: (source, onProgress, opts) => rethrowing(async () => (await session()).loadModel(source, onProgress, opts)),
    setThinking: (on) => rethrowing(async () => (await session()).setThinking(on)),
    cachedModels: () => rethrowing(() => cachedModels(cache)),
    deleteCachedModel: (id) => rethrowing(() => cache.delete(id)),
    inspectPrompt: (text) => rethrowing(async () => (await session()).inspectPrompt(text)),
    synthesize: (jobId, prompt, settings, onProgress) => rethrowing(async () => (await session()).synthesize(jobId, prompt, settings, onProgress)),
    planTraining: (prompt, records, settings) => rethrowing(async () => (await session()).planTraining(prompt, records, settings)),

    train: (jobId, prompt, records, settings, callbacks, resume) => rethrowing(async () => {
      const r = await (await session()).train(jobId, prompt, records, settings, {
        onStep: callbacks?.onStep && ((s) => callbacks.onStep!(s)),
        // The page stores the checkpoint; the worker never reads these arrays again, so they move instead of copying.
        onCheckpoint: callbacks?.onCheckpoint && ((c: Checkpoint) => callbacks.onCheckpoint!(Comlink.transfer(c, buffersOf(c.params, c.m, c.v, ...(c.best ? [c.best] : []))))),
      }, resume);
      return Comlink.transfer(r, buffersOf(r.adapter.params));
    }),

    evaluate: (jobId, request, onProgress) => rethrowing(async () => (await session()).evaluate(jobId, request, onProgress)),
    chat: (jobId, request, onText) => rethrowing(async () => (await session()).chat(jobId, request, onText)),
    exportOnnx: (jobId, adapter, dtype, onProgress) => rethrowing(async () => {
      const zip = await (await session()).exportOnnx(jobId, adapter, dtype, onProgress);
      return Comlink.transfer(zip, [zip.buffer as ArrayBuffer]);
    }),

    exportGguf: (jobId, adapter, kind, name, sink, onProgress) => rethrowing(async () => (await session()).exportGguf(jobId, adapter, kind, name, {
      start: (bytes) => sink.start(bytes),
      // A part that owns its whole buffer moves to the page instead of being copied; the writer never reads it again.
      write: (part) => sink.write(part.byteOffset === 0 && part.byteLength === part.buffer.byteLength ? Comlink.transfer(part, [part.buffer as ArrayBuffer]) : part),
    }, onProgress)),

    cancel(jobId) {
      // Nothing runs before the engine is open, so there is nothing to cancel then.
      void engine?.then((e) => e.session.cancel(jobId), () => undefined);
    },
  };
}
