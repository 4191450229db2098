// gather_rows and gather_rows_backward against their references: repeated and out-of-order rows forward, unique
// rows (what the loss head gathers) backward, and the inverse map's refusals.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare } from '../../ref/compare';
import * as cpu from '../../ref/gather';
import { lcg } from '../../util/lcg';
import { gather_rows, gather_rows_backward, gatherInverse } from './gather';

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

it('scatters the gradient back to the gathered rows and zeroes the rest, like the reference', async () => {
  const [T, C] = [37, 70];
  const idx = [36, 0, 5, 20, 2];
  const dout = Float32Array.from(lcg(idx.length * C, 9));
  // dx starts as garbage: the backward overwrites every row, gathered or not.
  const dx = upload(kernels, Float32Array.from(lcg(T * C, 3)));
  const inv = upload(kernels, gatherInverse(idx, T));
  await kernels.run('gather_bwd', (pass) => gather_rows_backward(kernels, pass, { dout: upload(kernels, dout), inv, dx, T, C }));
  const want = cpu.gather_rows_backward(dout, idx, idx.length, T, C);
  expectMatches('gather_rows_backward.dx', await read(kernels, dx, T * C), want, { abs: 0 });
  expect(compare('wrong rows', await read(kernels, dx, T * C), cpu.gather_rows_backward(dout, [35, 0, 5, 20, 2], idx.length, T, C)).maxAbs).toBeGreaterThan(0.01);
});

it('refuses an inverse map for a row gathered twice or outside x', () => {
  expect(() => gatherInverse([1, 3, 1], 4)).toThrow(/row 1 is gathered twice/);
  expect(() => gatherInverse([4], 4)).toThrow(/outside rows 0..3/);
});
