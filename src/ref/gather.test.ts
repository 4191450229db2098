// The float64 reference of shaders/gather.wgsl, worked by hand: gather_rows is what the GPU gather is compared with;
// gather_rows_backward is checked against finite differences of a loss through gather_rows.
import { expect, it } from 'vitest';
import { dotWith, expectClose, numericGrad, randoms } from './gradcheck';
import { gather_rows, gather_rows_backward } from './gather';

it('gather_rows copies the indexed rows, repeated and out of order', () => {
  const x = [0, 1, 10, 11, 20, 21]; // T=3 rows of C=2
  expect(Array.from(gather_rows(x, [2, 0, 2], 3, 2))).toEqual([20, 21, 0, 1, 20, 21]);
});

it('gather_rows_backward is the gradient of gather_rows (finite differences), repeated rows adding up', () => {
  const [T, C] = [5, 3];
  const idx = [4, 1, 4, 0];
  const x = randoms(T * C, 1);
  const dout = randoms(idx.length * C, 2);
  const loss = (v: Float64Array) => dotWith(gather_rows(v, idx, idx.length, C), dout);
  const dx = gather_rows_backward(dout, idx, idx.length, T, C);
  expectClose(dx, numericGrad(x, loss));
  // Rows 2 and 3 were never gathered: no gradient.
  expect(Array.from(dx.subarray(2 * C, 4 * C))).toEqual([0, 0, 0, 0, 0, 0]);
});
