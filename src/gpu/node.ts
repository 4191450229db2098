// WebGPU for Node through Dawn (npm `webgpu`), for the genpi command, the GPU tests and the benchmarks.
import { NoWebGpuError } from './errors';
import { acquireGpu, type AcquireOptions, type GpuContext } from './device';

let gpu: GPU | undefined;

export async function nodeGpu(): Promise<GPU> {
  if (!gpu) {
    try {
      const { create, globals } = await import('webgpu');
      // Dawn's classes (GPUBufferUsage and friends) must be globals, as in a browser.
      Object.assign(globalThis, globals);
      gpu = create([]) as GPU;
    } catch {
      throw new NoWebGpuError('node');
    }
  }
  return gpu;
}

export async function acquireNodeGpu(opts: Omit<AcquireOptions, 'where'> = {}): Promise<GpuContext> {
  return acquireGpu(await nodeGpu(), { ...opts, where: 'node' });
}
