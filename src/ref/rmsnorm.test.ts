// The float64 reference of rmsnorm: dx against central finite differences of the forward (loss = Σ y·g with random
// g, so every output counts), plus a row worked out by hand.
import { describe, expect, it } from 'vitest';
import { dotWith, expectClose, numericGrad, randoms } from './gradcheck';
import { rmsnorm_backward, rmsnorm_forward } from './rmsnorm';

describe('rmsnorm reference', () => {
  it('matches a hand-computed row', () => {
    const { y, rstd } = rmsnorm_forward([3, 4], [1, 2], 0, 1, 2);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(12.5), 14);
    expect(y[0]).toBeCloseTo(3 / Math.sqrt(12.5), 14);
    expect(y[1]).toBeCloseTo(8 / Math.sqrt(12.5), 14);
  });

  for (const [T, C] of [[1, 5], [3, 7]]) {
    it(`dx matches finite differences (T=${T}, C=${C})`, () => {
      const x = randoms(T * C, 1);
      const w = randoms(C, 2, 2);
      const g = randoms(T * C, 3);
      const eps = 1e-5;
      const { rstd } = rmsnorm_forward(x, w, eps, T, C);
      const dx = rmsnorm_backward(g, x, w, rstd, T, C);
      expectClose(dx, numericGrad(x, (xx) => dotWith(rmsnorm_forward(xx, w, eps, T, C).y, g)));
    });
  }
});
