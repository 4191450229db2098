// The engine's web worker: owns the WebGPU device and everything heavy, and exposes WorkerApi through comlink.
import * as Comlink from 'comlink';
import { acquireGpu, summarize, type GpuContext } from '../gpu/device';
import { KernelRegistry } from '../gpu/registry';
import { selfTest } from '../gpu/selftest';
import { shaderSources } from '../gpu/shaders-vite';
import { toErrorInfo, type GpuReport, type WorkerApi } from './api';
import { loadModel, type LoadedModel } from './models';

// The loaded model stays here for the engine (generation and training use it in later calls).
let current: LoadedModel | undefined;
let gpu: Promise<{ ctx: GpuContext; registry: KernelRegistry }> | undefined;

function openGpu() {
  gpu ??= acquireGpu((self.navigator as Navigator).gpu, { where: 'browser' }).then((ctx) => {
    // A lost device is dropped so the next call opens a fresh one instead of failing forever.
    void ctx.lost.then((lost) => {
      if (lost) gpu = undefined;
    });
    return { ctx, registry: new KernelRegistry(ctx.device, shaderSources) };
  });
  gpu.catch(() => (gpu = undefined));
  return gpu;
}

const api: WorkerApi = {
  async info(): Promise<GpuReport> {
    try {
      const { ctx, registry } = await openGpu();
      return { gpu: summarize(ctx), error: null, selfTest: await selfTest(ctx, registry) };
    } catch (e) {
      return { gpu: null, error: toErrorInfo(e), selfTest: null };
    }
  },

  async loadModel(source, onProgress) {
    current = await loadModel(source, onProgress);
    return current.summary;
  },
};

Comlink.expose(api);
