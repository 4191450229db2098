// Finite-difference checks shared by the float64 reference tests: random inputs, central differences of a scalar
// loss, and the comparison of an analytic gradient with them. Test-only, like the rest of src/ref.
import { expect } from 'vitest';
import { Rng } from '../util/rng';

const H = 1e-5;

export function randoms(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

export const dotWith = (a: ArrayLike<number>, g: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * g[i];
  return s;
};

/** ∂loss/∂input by central differences, loss(input) evaluated on a copy with one element moved by ±H. */
export function numericGrad(input: Float64Array, loss: (x: Float64Array) => number): Float64Array {
  const grad = new Float64Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const p = input.slice();
    p[i] += H;
    const m = input.slice();
    m[i] -= H;
    grad[i] = (loss(p) - loss(m)) / (2 * H);
  }
  return grad;
}

/** Central differences in float64 with h = 1e-5 are good to ~1e-9 here; 1e-7 leaves room and still catches bugs. */
export function expectClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, tol = 1e-7): void {
  expect(analytic.length).toBe(numeric.length);
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]) / Math.max(1, Math.abs(numeric[i])));
  expect(worst).toBeLessThan(tol);
}
