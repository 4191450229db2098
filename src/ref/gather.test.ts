// The float64 reference of shaders/gather.wgsl, worked by hand: gather_rows is what the GPU gather is compared with.
import { expect, it } from 'vitest';
import { gather_rows } from './gather';

it('gather_rows copies the indexed rows, repeated and out of order', () => {
  const x = [0, 1, 10, 11, 20, 21]; // T=3 rows of C=2
  expect(Array.from(gather_rows(x, [2, 0, 2], 3, 2))).toEqual([20, 21, 0, 1, 20, 21]);
});
