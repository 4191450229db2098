// Shared set-up for the GPU tests on Dawn: a Kernels instance for f32 or f16 weights, upload/readback of plain
// arrays, and the llm.c-style check of a GPU tensor against its reference. Test-only; the app and the CLI build
// their Kernels in the worker and the engine.
import { afterAll, beforeAll, expect } from 'vitest';
import { fromFloat32, toFloat32 } from '../model/dtype';
import { readF32, storageBuffer } from './buffers';
import { compare, type Diff } from './compare';
import { createKernels, type Kernels } from './kernel';
import { acquireNodeGpu } from './node';
import { lcgInputs } from './selftest';
import { loadShaderSources } from './shaders-node';

/** One line per tensor, aligned, as the kernel tests print it before they assert. */
export function formatDiff(d: Diff): string {
  return `${d.name.padEnd(40)} n=${String(d.n).padStart(8)}  max abs ${d.maxAbs.toExponential(2)}  max rel ${d.maxRel.toExponential(2)}  of scale ${d.scaled.toExponential(2)}`;
}

/** f16: frozen weights stored as f16 (needs shader-f16, which Mesa lavapipe has); false: f32 everywhere. */
export async function testKernels(f16: boolean): Promise<Kernels> {
  const ctx = await acquireNodeGpu({ disable: f16 ? [] : ['shader-f16'] });
  if (f16 && !ctx.features.has('shader-f16')) {
    throw new Error('this Vulkan adapter has no shader-f16; the f16 tests need Mesa >= 25 lavapipe (scripts/setup-system.sh)');
  }
  return createKernels(ctx, loadShaderSources(), { f16 });
}

export function upload(kernels: Kernels, data: ArrayLike<number> | Float32Array | Uint32Array | Int32Array, label = 'test'): GPUBuffer {
  const view = ArrayBuffer.isView(data) ? data : Float32Array.from(data);
  return storageBuffer(kernels.device, view, label);
}

/** A frozen weight as the engine stores it: f16 when the registry's preamble says so, f32 otherwise. */
export function uploadWeight(kernels: Kernels, values: ArrayLike<number>, f16: boolean, label = 'weight'): GPUBuffer {
  return storageBuffer(kernels.device, f16 ? fromFloat32(values, 'F16') : Float32Array.from(values), label);
}

export function zeros(kernels: Kernels, count: number, label = 'zeros'): GPUBuffer {
  return storageBuffer(kernels.device, count * 4, label);
}

export async function read(kernels: Kernels, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return readF32(kernels.device, buffer, count);
}

/** n f32 inputs in [shift − scale, shift + scale), the same for a given seed on every run. */
export function scaled(n: number, seed: number, scale: number, shift = 0): Float32Array {
  return lcgInputs(n, seed).map((v) => v * scale + shift);
}

/** Values rounded through f16 (what the GPU sees for an f16 weight), for building the reference's inputs. */
export function roundF16(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(toFloat32(fromFloat32(values, 'F16'), 'F16'));
}

/** Bounds on compare()'s measures; only those given are asserted. `floor` is compare's floor for maxRel. */
export interface Tolerance {
  rel?: number;
  abs?: number;
  scaled?: number;
  floor?: number;
}

/**
 * Prints the tensor's diff line, then asserts each bound: the line comes first so a failing tensor still shows how
 * far it drifted (and the ones before it show where the drift started).
 */
export function expectMatches(name: string, gpu: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): Diff {
  const d = compare(name, gpu, ref, tol.floor);
  console.log(formatDiff(d));
  if (tol.rel !== undefined) expect(d.maxRel, name).toBeLessThanOrEqual(tol.rel);
  if (tol.abs !== undefined) expect(d.maxAbs, name).toBeLessThanOrEqual(tol.abs);
  if (tol.scaled !== undefined) expect(d.scaled, name).toBeLessThanOrEqual(tol.scaled);
  return d;
}

/**
 * The setup every per-kernel GPU test file shares, registered in the calling describe: a device with or without f16
 * weights, buffers destroyed after the file, and frozen weights as stored on the GPU beside the values the
 * reference must use (what the GPU actually sees, f16-rounded when stored as f16).
 */
export function kernelSuite(f16: boolean) {
  const bufs: GPUBuffer[] = [];
  const suite = {
    kernels: undefined as unknown as Kernels,
    keep: (b: GPUBuffer): GPUBuffer => (bufs.push(b), b),
    weight: (values: Float32Array, label: string) => ({
      buf: suite.keep(uploadWeight(suite.kernels, values, f16, label)),
      ref: f16 ? roundF16(values) : Float64Array.from(values),
    }),
  };
  beforeAll(async () => {
    suite.kernels = await testKernels(f16);
  });
  afterAll(() => {
    for (const b of bufs) b.destroy();
    suite.kernels?.device.destroy();
  });
  return suite;
}
