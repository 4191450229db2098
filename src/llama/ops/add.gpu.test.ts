// add_forward, as the decoder layer records it for its residuals, on Dawn against its float64 reference on sizes
// that are not multiples of the 256-wide workgroup. (src/gpu/registry.gpu.test.ts checks the same kernel through
// the device self-test, which records it without Kernels.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, scaled, testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/add';
import { add_forward } from './add';

let kernels: Kernels;
beforeAll(async () => (kernels = await testKernels(false)));
afterAll(() => kernels?.device.destroy());

// One f32 rounding of a sum of values in [-1, 1): at most 2^-24·2 ≈ 1.2e-7 from the exact float64 sum.
for (const n of [1, 257, 100_003]) {
  it(`add_forward n=${n}`, async () => {
    const a = scaled(n, 3, 1);
    const b = scaled(n, 4, 1);
    const out = zeros(kernels, n);
    await kernels.run('add', (pass) => add_forward(kernels, pass, { a: upload(kernels, a), b: upload(kernels, b), out, n }));
    expectMatches(`add_forward.out n=${n}`, await read(kernels, out, n), cpu.add_forward(a, b), { abs: 1e-6 });
  });
}

it('detects a wrong result (the comparison can fail): one input perturbed', async () => {
  const n = 257;
  const [a, b] = [scaled(n, 3, 1), scaled(n, 4, 1)];
  const out = zeros(kernels, n);
  await kernels.run('add', (pass) => add_forward(kernels, pass, { a: upload(kernels, a), b: upload(kernels, b), out, n }));
  const wrong = b.slice();
  wrong[200] += 0.25;
  const d = compare('add_forward.out vs a perturbed b', await read(kernels, out, n), cpu.add_forward(a, wrong));
  console.log(formatDiff(d));
  expect(d.maxAbs).toBeGreaterThan(0.2);
});
