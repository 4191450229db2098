// Checks the matmul reference: hand-computed cases, and matmul_backward against central finite differences of
// matmul_forward (the GPU kernels are only as right as this reference).
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { matmul_backward, matmul_forward } from './matmul';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

describe('matmul_forward', () => {
  it('computes x·wᵀ + bias by hand', () => {
    // x [2,3], w [2,3] (N=2), bias [2]
    const y = matmul_forward([1, 2, 3, 4, 5, 6], [1, 0, -1, 2, 1, 0], [10, 20], 2, 3, 2);
    expect(Array.from(y)).toEqual([1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20]);
  });

  it('treats a null bias as zero', () => {
    expect(Array.from(matmul_forward([1, 2], [3, 4, 5, 6, 7, 8], null, 1, 2, 3))).toEqual([11, 17, 23]);
  });
});

describe('matmul_backward', () => {
  it('computes dy·w by hand', () => {
    // dy [1,2], w [2,3] -> dx [1,3]
    expect(Array.from(matmul_backward([1, -1], [1, 2, 3, 4, 5, 6], 1, 3, 2))).toEqual([-3, -3, -3]);
  });

  for (const [T, K, N] of [
    [1, 1, 1],
    [3, 5, 4],
    [4, 2, 7],
  ]) {
    it(`matches finite differences of the forward (T=${T} K=${K} N=${N})`, () => {
      const x = lcg(T * K, 1);
      const w = lcg(N * K, 2);
      const b = lcg(N, 3);
      const g = lcg(T * N, 4); // L = sum(y ⊙ g), so dL/dy = g and every output matters
      const loss = (xx: Float64Array) => dot(matmul_forward(xx, w, b, T, K, N), g);
      const dx = matmul_backward(g, w, T, K, N);
      const h = 1e-5;
      for (let i = 0; i < T * K; i++) {
        const xp = x.slice();
        const xm = x.slice();
        xp[i] += h;
        xm[i] -= h;
        expect(dx[i]).toBeCloseTo((loss(xp) - loss(xm)) / (2 * h), 8);
      }
    });
  }
});
