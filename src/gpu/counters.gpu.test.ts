// The GPU-call counters count what they claim on a known sequence of calls, and one run's dispatches read their own
// parameters from the shared uniform slots (two add_forward dispatches of different lengths, checked against the
// float64 reference, with the shorter one's tail left untouched).
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as cpu from '../ref/add';
import { readF32, storageBuffer, writeArray } from './buffers';
import { gpuCounters } from './counters';
import { grid1d } from './dispatch';
import type { Kernels } from './kernel';
import { expectMatches, scaled, testKernels } from './testing';

let kernels: Kernels;
beforeAll(async () => (kernels = await testKernels(false)));
afterAll(() => kernels?.device.destroy());

it('counts dispatches, passes, submits, writes and readbacks of a known sequence', async () => {
  const device = kernels.device;
  const counters = gpuCounters(device);
  const [n1, n2] = [300, 37];
  const [a, b] = [scaled(n1, 1, 1), scaled(n1, 2, 1)];
  const before = counters.snapshot();
  const ga = storageBuffer(device, a, 'a'); // one write of 1,200 bytes
  const gb = storageBuffer(device, b, 'b'); // one write of 1,200 bytes
  const [out1, out2] = [storageBuffer(device, n1 * 4, 'out1'), storageBuffer(device, n1 * 4, 'out2')]; // no writes
  writeArray(device, out2, new Float32Array(n1).fill(-7)); // one write of 1,200 bytes
  const max = kernels.ctx.limits.maxComputeWorkgroupsPerDimension;
  await kernels.run('counted', async (pass) => {
    for (const [n, out] of [[n1, out1], [n2, out2]] as const) {
      const g = grid1d(n, 256, max);
      await kernels.dispatch(pass, 'add_forward', [ga, gb, out], [n, g.row], [g.x, g.y]);
    }
  });
  const got1 = await readF32(device, out1, n1); // one submit, one readback of 1,200 bytes
  const got2 = await readF32(device, out2, n1);
  const c = counters.since(before);
  console.log('counts:', JSON.stringify(c));
  // Two parameter slots of 16 bytes, the second at the device's uniform offset alignment, in one write.
  const align = kernels.ctx.limits.minUniformBufferOffsetAlignment;
  expect(c).toEqual({ dispatches: 2, passes: 1, submits: 3, writes: 4, writeBytes: 3 * 1200 + align + 16, readbacks: 2, readBytes: 2 * 1200 });

  const ref = cpu.add_forward(a, b);
  expectMatches('add_forward.out n=300', got1, ref, { abs: 1e-6 });
  expectMatches('add_forward.out n=37', got2.subarray(0, n2), ref.subarray(0, n2), { abs: 1e-6 });
  expect([...got2.subarray(n2)].every((x) => x === -7), 'the n=37 dispatch wrote past its own n').toBe(true);
  for (const buf of [ga, gb, out1, out2]) buf.destroy();
});
