// Checks the cross-entropy reference: its backward against central finite differences of its forward, tiny cases
// worked by hand, and that the chunked online log-sum-exp path equals the full-vocabulary one.
import { describe, expect, it } from 'vitest';
import { IGNORE } from '../llama/batch';
import { lcg } from '../util/lcg';
import {
  cross_entropy_backward,
  cross_entropy_finish,
  cross_entropy_forward,
  cross_entropy_group_losses,
  cross_entropy_init,
  cross_entropy_stats,
} from './cross_entropy';

describe('cross_entropy_backward vs finite differences', () => {
  it('T=4, V=6 with an ignored token and varying weights', () => {
    const T = 4;
    const V = 6;
    const logits = lcg(T * V, 1, 3);
    const targets = [2, IGNORE, 0, 5];
    const weights = [0.5, 7, 1.25, 0.1]; // the ignored token's weight must not matter
    // The loss itself is the scalar: it already weighs every token, so every logit of a kept row matters.
    const loss = () => cross_entropy_forward(logits, targets, weights, T, V).loss;
    const { lse } = cross_entropy_forward(logits, targets, weights, T, V);
    const g = cross_entropy_backward(logits, targets, weights, lse, T, V);
    const eps = 1e-5;
    for (let i = 0; i < logits.length; i++) {
      const x0 = logits[i];
      logits[i] = x0 + eps;
      const up = loss();
      logits[i] = x0 - eps;
      const down = loss();
      logits[i] = x0;
      expect(Math.abs(g[i] - (up - down) / (2 * eps)), `dlogits[${i}]`).toBeLessThan(1e-9);
    }
    for (let v = 0; v < V; v++) expect(g[1 * V + v]).toBe(0);
  });

  it('lse is differentiable to softmax (the backward without weights and targets)', () => {
    const V = 5;
    const logits = lcg(V, 2, 2);
    const { lse } = cross_entropy_forward(logits, [0], [1], 1, V);
    const eps = 1e-5;
    for (let v = 0; v < V; v++) {
      const x = Float64Array.from(logits);
      x[v] += eps;
      const up = cross_entropy_forward(x, [0], [1], 1, V).lse[0];
      x[v] -= 2 * eps;
      const down = cross_entropy_forward(x, [0], [1], 1, V).lse[0];
      expect((up - down) / (2 * eps)).toBeCloseTo(Math.exp(logits[v] - lse[0]), 9);
    }
  });
});

describe('cross_entropy by hand', () => {
  it('two equal logits: loss ln 2, gradient ±w/2', () => {
    const r = cross_entropy_forward([0, 0], [0], [3], 1, 2);
    expect(r.lse[0]).toBeCloseTo(Math.LN2, 15);
    expect(r.losses[0]).toBeCloseTo(Math.LN2, 15);
    expect(r.loss).toBeCloseTo(3 * Math.LN2, 15);
    expect(Array.from(cross_entropy_backward([0, 0], [0], [3], r.lse, 1, 2))).toEqual([-1.5, 1.5]);
  });

  it('ignored tokens give zero loss and zero gradient whatever their weight', () => {
    const r = cross_entropy_forward([1, 2, 3], [IGNORE], [5], 1, 3);
    expect(r.loss).toBe(0);
    expect(r.losses[0]).toBe(0);
    expect(r.lse[0]).toBeCloseTo(3 + Math.log(1 + Math.exp(-1) + Math.exp(-2)), 14);
    expect(Array.from(cross_entropy_backward([1, 2, 3], [IGNORE], [5], r.lse, 1, 3))).toEqual([0, 0, 0]);
  });

  it('large logits stay finite (log-sum-exp subtracts the max)', () => {
    const r = cross_entropy_forward([1000, 999], [1], [1], 1, 2);
    expect(r.losses[0]).toBeCloseTo(1 + Math.log(1 + Math.exp(-1)), 12);
  });

  it('group losses sum each group and skip ignored tokens and groups >= G', () => {
    const losses = [1, 2, 0, 4, 8];
    const targets = [0, 1, IGNORE, 1, 1];
    const weights = [1, 0.5, 100, 0.25, 1];
    const group = [0, 1, 0, 1, 5];
    expect(Array.from(cross_entropy_group_losses(losses, targets, weights, group, 2))).toEqual([1, 2]);
  });

  it('refuses a target outside the vocabulary', () => {
    expect(() => cross_entropy_forward([0, 0], [2], [1], 1, 2)).toThrow(/outside \[0, 2\)/);
  });
});

describe('chunked online log-sum-exp equals the full vocabulary', () => {
  for (const [V, Vc] of [
    [387, 128],
    [1000, 300],
    [7, 7],
  ]) {
    it(`V=${V} in chunks of ${Vc}`, () => {
      const T = 9;
      const logits = lcg(T * V, 3, 50); // ±50: naive exp would lose everything but the largest terms
      for (let v = 0; v < V; v++) logits[4 * V + v] += 800; // exp(800) overflows even float64
      const targets = Array.from({ length: T }, (_, t) => (t % 4 === 3 ? IGNORE : (t * 131) % V));
      const weights = lcg(T, 4, 2);
      const group = Array.from({ length: T }, (_, t) => t % 3);
      let s = cross_entropy_init(T);
      for (let v0 = 0; v0 < V; v0 += Vc) {
        const w = Math.min(Vc, V - v0);
        const stride = Vc + 3; // padding after each row, as when the last chunk is narrower than the buffer
        const chunk = new Float64Array(T * stride).fill(NaN);
        for (let t = 0; t < T; t++) for (let j = 0; j < w; j++) chunk[t * stride + j] = logits[t * V + v0 + j];
        s = cross_entropy_stats(chunk, targets, s, T, w, v0, stride);
      }
      const got = cross_entropy_finish(s, targets, weights, group, T, 3);
      const want = cross_entropy_forward(logits, targets, weights, T, V);
      for (let t = 0; t < T; t++) {
        expect(got.lse[t]).toBeCloseTo(want.lse[t], 9);
        expect(got.losses[t]).toBeCloseTo(want.losses[t], 9);
      }
      expect(got.loss[0]).toBeCloseTo(want.loss, 9);
      const groups = cross_entropy_group_losses(want.losses, targets, weights, group, 3);
      for (let g = 0; g < 3; g++) expect(got.loss[1 + g]).toBeCloseTo(groups[g], 9);
      expect(Number.isFinite(want.lse[4])).toBe(true);
    });
  }
});
