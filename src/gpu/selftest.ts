// A one-kernel check that the device computes correctly: add_forward on awkward sizes against the same sum in
// float64. The worker's info() page and `genpi info` use it to prove the adapter works, not just exists.
import { lcg } from '../util/lcg';
import { readF32, storageBuffer, uniformBuffer } from './buffers';
import { compare, type Diff } from './compare';
import type { GpuContext } from './device';
import { grid1d } from './dispatch';
import type { KernelRegistry } from './registry';

/** Deterministic inputs in [-1, 1), so every run checks the same numbers. */
export function lcgInputs(n: number, seed: number): Float32Array {
  return Float32Array.from(lcg(n, seed));
}

/** out = a + b on the GPU; a, b: [n]. */
export async function runAdd(ctx: GpuContext, registry: KernelRegistry, a: Float32Array, b: Float32Array): Promise<Float32Array> {
  const { device } = ctx;
  const n = a.length;
  const g = grid1d(n, 256, ctx.limits.maxComputeWorkgroupsPerDimension);
  const bufs = [
    storageBuffer(device, a, 'add.a'),
    storageBuffer(device, b, 'add.b'),
    storageBuffer(device, n * 4, 'add.out'),
    uniformBuffer(device, [n, g.row], 'add.params'),
  ];
  try {
    const pipeline = await registry.pipeline('add_forward');
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const enc = device.createCommandEncoder({ label: 'add_forward' });
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(g.x, g.y);
    pass.end();
    device.queue.submit([enc.finish()]);
    return await readF32(device, bufs[2], n);
  } finally {
    for (const b of bufs) b.destroy();
  }
}

export interface SelfTestResult {
  kernel: 'add_forward';
  diff: Diff;
  ms: number;
}

export async function selfTest(ctx: GpuContext, registry: KernelRegistry, n = 100_003, seed = 1): Promise<SelfTestResult> {
  const a = lcgInputs(n, seed);
  const b = lcgInputs(n, seed + 1);
  const t0 = performance.now();
  const out = await runAdd(ctx, registry, a, b);
  const ms = performance.now() - t0;
  // The expected result is its own: a[i] + b[i] in float64 (what src/ref/add.ts computes, without depending on it).
  const expected = Float64Array.from(a, (x, i) => x + b[i]);
  return { kernel: 'add_forward', diff: compare('add_forward.out', out, expected), ms };
}
