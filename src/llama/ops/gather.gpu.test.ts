// gather_rows against its reference, with repeated and out-of-order rows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare } from '../../ref/compare';
import * as cpu from '../../ref/gather';
import { lcg } from '../../ref/random';
import { gather_rows } from './gather';

let kernels: Kernels;
beforeAll(async () => (kernels = await testKernels(false)));
afterAll(() => kernels?.device.destroy());

it('gathers rows (repeated, out of order, last row) like the reference', async () => {
  const [T, C] = [37, 70];
  const x = Float32Array.from(lcg(T * C, 4));
  const idx = new Uint32Array([36, 0, 5, 5, 20]);
  const out = zeros(kernels, idx.length * C);
  await kernels.run('gather', (pass) => gather_rows(kernels, pass, { x: upload(kernels, x), idx: upload(kernels, idx), out, B: idx.length, C }));
  expectMatches('gather_rows.out', await read(kernels, out, idx.length * C), cpu.gather_rows(x, idx, idx.length, C), { abs: 0 });
  expect(compare('wrong rows', await read(kernels, out, idx.length * C), cpu.gather_rows(x, [35, 0, 5, 5, 20], idx.length, C)).maxAbs).toBeGreaterThan(0.01);
});
