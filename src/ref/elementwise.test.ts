// The float64 references of rmsnorm, rope, swiglu and embedding: every backward against central finite differences
// of its forward (loss = Σ out·g with random g, so every output counts), plus small cases worked out by hand.
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { embedding_forward } from './embedding';
import { rmsnorm_backward, rmsnorm_forward } from './rmsnorm';
import { rope_backward, rope_forward, rope_inv_freq } from './rope';
import { swiglu_backward, swiglu_forward } from './swiglu';

const H = 1e-5;

function randoms(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

const dotWith = (a: ArrayLike<number>, g: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * g[i];
  return s;
};

/** ∂loss/∂input by central differences, loss(input) evaluated on a copy with one element moved by ±H. */
function numericGrad(input: Float64Array, loss: (x: Float64Array) => number): Float64Array {
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
function expectClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, tol = 1e-7): void {
  expect(analytic.length).toBe(numeric.length);
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]) / Math.max(1, Math.abs(numeric[i])));
  expect(worst).toBeLessThan(tol);
}

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

describe('rope reference', () => {
  it('rotates a pair by pos·inv_freq (hand-computed)', () => {
    const y = rope_forward([1, 0], [1], [1], 1, 1, 2);
    expect(y[0]).toBeCloseTo(Math.cos(1), 14);
    expect(y[1]).toBeCloseTo(Math.sin(1), 14);
    // D=4, theta=10000: inv_freq = [1, 10000^(-1/2)]; position 2 rotates pair (0,2) by 2 rad and pair (1,3) by 0.02.
    const inv = rope_inv_freq(4, 10000, null);
    expect(Array.from(inv)).toEqual([1, 0.01]);
    const z = rope_forward([1, 1, 0, 0], [2], inv, 1, 1, 4);
    expect(z[0]).toBeCloseTo(Math.cos(2), 14);
    expect(z[2]).toBeCloseTo(Math.sin(2), 14);
    expect(z[1]).toBeCloseTo(Math.cos(0.02), 14);
    expect(z[3]).toBeCloseTo(Math.sin(0.02), 14);
  });

  it('llama3 rescaling: Llama 3.2 numbers computed from the formula by hand', () => {
    // D=64, theta=500000, factor 32, low 1, high 4, original 8192: wavelengths below 2048 keep their frequency,
    // above 8192 are divided by 32, and between (i = 15, 16, 17) blend the two.
    const scaling = { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const inv = rope_inv_freq(64, 500000, scaling);
    const plain = rope_inv_freq(64, 500000, null);
    expect(inv[0]).toBe(1);
    for (let i = 0; i <= 14; i++) expect(inv[i]).toBe(plain[i]);
    for (let i = 18; i < 32; i++) expect(inv[i]).toBeCloseTo(plain[i] / 32, 18);
    expect(inv[31]).toBeCloseTo(Math.pow(500000, -62 / 64) / 32, 18);
    // i = 16: inv = 500000^(-1/2), wavelength 2π·sqrt(500000) = 4442.88; smooth = (8192/4442.88 − 1)/3 = 0.281283,
    // inv = f·(0.718717/32 + 0.281283) = 4.29557e-4.
    const f = 1 / Math.sqrt(500000);
    const smooth = (8192 / (2 * Math.PI * Math.sqrt(500000)) - 1) / 3;
    expect(smooth).toBeCloseTo(0.281283, 6);
    expect(inv[16]).toBeCloseTo((1 - smooth) * (f / 32) + smooth * f, 15);
    expect(inv[16]).toBeCloseTo(4.29557e-4, 9);
    // The blend is continuous in the band: strictly between the divided and the original frequency.
    for (const i of [15, 16, 17]) {
      expect(inv[i]).toBeGreaterThan(plain[i] / 32);
      expect(inv[i]).toBeLessThan(plain[i]);
    }
  });

  for (const [T, nh, D] of [[1, 1, 4], [3, 2, 6]]) {
    it(`dx matches finite differences and undoes the forward (T=${T}, nh=${nh}, D=${D})`, () => {
      const x = randoms(T * nh * D, 4);
      const g = randoms(T * nh * D, 5);
      const pos = Array.from({ length: T }, (_, t) => 3 * t + 1);
      const inv = rope_inv_freq(D, 10000, null);
      const dx = rope_backward(g, pos, inv, T, nh, D);
      expectClose(dx, numericGrad(x, (xx) => dotWith(rope_forward(xx, pos, inv, T, nh, D), g)));
      expectClose(rope_backward(rope_forward(x, pos, inv, T, nh, D), pos, inv, T, nh, D), x, 1e-14);
    });
  }
});

describe('swiglu reference', () => {
  it('matches hand-computed values', () => {
    const silu1 = 1 / (1 + Math.exp(-1));
    const h = swiglu_forward([0, 1, -1], [5, 2, 3], 1, 3);
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(2 * silu1, 14);
    expect(h[2]).toBeCloseTo(-3 * (1 - silu1), 14); // silu(-1) = -σ(-1) = -(1 - σ(1))
    const { dgate, dup } = swiglu_backward([1, 1, 1], [0, 1, -1], [5, 2, 3], 1, 3);
    expect(dgate[0]).toBeCloseTo(2.5, 14); // silu'(0) = 1/2
    expect(dup[0]).toBe(0);
    expect(dup[1]).toBeCloseTo(silu1, 14);
  });

  it('dgate and dup match finite differences (T=3, F=5), with large |gate| too', () => {
    const [T, F] = [3, 5];
    const gate = randoms(T * F, 6, 4);
    gate[0] = 30;
    gate[1] = -30;
    const up = randoms(T * F, 7);
    const g = randoms(T * F, 8);
    const { dgate, dup } = swiglu_backward(g, gate, up, T, F);
    expectClose(dgate, numericGrad(gate, (gg) => dotWith(swiglu_forward(gg, up, T, F), g)));
    expectClose(dup, numericGrad(up, (uu) => dotWith(swiglu_forward(gate, uu, T, F), g)));
  });
});

describe('embedding reference', () => {
  it('gathers rows by id and refuses ids outside the table', () => {
    const table = [10, 11, 20, 21, 30, 31]; // [V=3, C=2]
    expect(Array.from(embedding_forward([2, 0, 2], table, 3, 2))).toEqual([30, 31, 10, 11, 30, 31]);
    expect(() => embedding_forward([3], table, 1, 2)).toThrow(/id 3/);
  });
});
