// Checks the LoRA reference: a hand-computed tiny case, the dropout scaling, and lora_backward's dx, dA, dB
// against central finite differences of lora_forward (with a fixed dropout mask, the delta is bilinear).
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { dropout_keep } from './dropout';
import { lora_backward, lora_down_backward, lora_down_forward, lora_dropout, lora_forward, lora_up_backward, lora_up_forward } from './lora';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

describe('lora_forward', () => {
  it('computes scale · x·Aᵀ·Bᵀ by hand without dropout', () => {
    // T=1, K=2, R=1, N=2: u = 1*3 + 2*4 = 11; y = 0.5 * 11 * [1, -2]
    const { u, y } = lora_forward([1, 2], [3, 4], [1, -2], 0.5, 0, 9, 1, 2, 2, 1);
    expect(Array.from(u)).toEqual([11]);
    expect(Array.from(y)).toEqual([5.5, -11]);
  });

  it('zeroes dropped inputs and scales kept ones by 1/(1-p)', () => {
    const T = 3;
    const K = 50;
    const p = 0.3;
    const x = lcg(T * K, 5);
    const xd = lora_dropout(x, p, 11, T, K);
    let dropped = 0;
    for (let i = 0; i < T * K; i++) {
      if (dropout_keep(11, i, p)) expect(xd[i]).toBeCloseTo(x[i] / (1 - p), 14);
      else expect(xd[i]).toBe((dropped++, 0));
    }
    expect(dropped).toBeGreaterThan(10);
    // u sees the dropped input: with A = one-hot rows, u copies xd's columns.
    const A = new Float64Array(2 * K);
    A[0 * K + 4] = 1;
    A[1 * K + 9] = 1;
    const u = lora_down_forward(x, A, p, 11, T, K, 2);
    for (let t = 0; t < T; t++) expect([u[t * 2], u[t * 2 + 1]]).toEqual([xd[t * K + 4], xd[t * K + 9]]);
  });
});

describe('the four per-kernel references', () => {
  it('lora_down_forward, lora_up_forward, lora_up_backward and lora_down_backward by hand', () => {
    // T=1, K=2, R=1, N=2, no dropout: u = x·Aᵀ = 11; y = 0.5·u·B; with dy = [1, 1]: dB = 0.5·dy·u = [5.5, 5.5],
    // du = 0.5·dy·B = -0.5, dA = du·x = [-0.5, -1], dx = du·A = [-1.5, -2].
    const u = lora_down_forward([1, 2], [3, 4], 0, 9, 1, 2, 1);
    expect(Array.from(u)).toEqual([11]);
    expect(Array.from(lora_up_forward(u, [1, -2], 0.5, 1, 2, 1))).toEqual([5.5, -11]);
    const { dB, du } = lora_up_backward([1, 1], u, [1, -2], 0.5, 1, 2, 1);
    expect([Array.from(dB), Array.from(du)]).toEqual([[5.5, 5.5], [-0.5]]);
    const { dA, dx } = lora_down_backward(du, [1, 2], [3, 4], 0, 9, 1, 2, 1);
    expect([Array.from(dA), Array.from(dx)]).toEqual([[-0.5, -1], [-1.5, -2]]);
  });
});

describe('lora_backward', () => {
  for (const [T, K, N, R, p] of [
    [1, 3, 2, 1, 0],
    [3, 5, 4, 2, 0],
    [4, 6, 3, 3, 0.3],
  ]) {
    it(`matches finite differences of the forward (T=${T} K=${K} N=${N} R=${R} p=${p})`, () => {
      const scale = 1.7;
      const seed = 123;
      const x = lcg(T * K, 1);
      const A = lcg(R * K, 2);
      const B = lcg(N * R, 3);
      const g = lcg(T * N, 4); // L = sum(y ⊙ g): dL/dy = g, so every output element matters
      const loss = (xx: Float64Array, AA: Float64Array, BB: Float64Array) =>
        dot(lora_forward(xx, AA, BB, scale, p, seed, T, K, N, R).y, g);
      const { u } = lora_forward(x, A, B, scale, p, seed, T, K, N, R);
      const grads = lora_backward(g, x, u, A, B, scale, p, seed, T, K, N, R);
      const h = 1e-5;
      const check = (which: 0 | 1 | 2, grad: Float64Array) => {
        const base = [x, A, B][which];
        for (let i = 0; i < base.length; i++) {
          const plus = [x, A, B].map((v) => v.slice());
          const minus = [x, A, B].map((v) => v.slice());
          plus[which][i] += h;
          minus[which][i] -= h;
          const fd = (loss(plus[0], plus[1], plus[2]) - loss(minus[0], minus[1], minus[2])) / (2 * h);
          expect(grad[i]).toBeCloseTo(fd, 8);
        }
      };
      check(0, grads.dx);
      check(1, grads.dA);
      check(2, grads.dB);
      if (p > 0) expect(grads.dx.some((v) => v === 0)).toBe(true); // dropped inputs get no gradient
    });
  }
});
