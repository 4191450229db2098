// Checks the reverse-KL reference of on-policy distillation: its gradient against central finite differences of
// its loss, the full-vocabulary case against the textbook KL(q || p) and its gradient, the binned KL as a lower bound
// of the full one, and a student equal to its teacher.
import { describe, expect, it } from 'vitest';
import { expectClose, numericGrad } from './gradcheck';
import { lcg } from '../util/lcg';
import { kl_reverse_backward, kl_reverse_forward } from './kl_reverse';
import { top_log_probs } from './top_log_probs';

/** Teacher targets [T,K] from teacher logits [T,V]: the top-K of each row. */
function teacherOf(teacher: ArrayLike<number>, T: number, V: number, K: number) {
  const ids: number[] = [];
  const logp: number[] = [];
  for (let t = 0; t < T; t++) {
    const r = top_log_probs(Array.from({ length: V }, (_, v) => teacher[t * V + v]), K);
    ids.push(...r.ids);
    logp.push(...r.logp);
  }
  return { ids, logp };
}

const logSoftmax = (x: ArrayLike<number>) => {
  const lse = Math.log(Array.from(x).reduce((s, v) => s + Math.exp(v), 0));
  return Array.from(x, (v) => v - lse);
};

describe('kl_reverse_backward vs finite differences', () => {
  for (const [V, K] of [[9, 3], [12, 1], [7, 6]]) {
    it(`T=4 V=${V} K=${K}, one token not distilled, varying weights`, () => {
      const T = 4;
      const logits = Float64Array.from(lcg(T * V, 11, 3));
      const { ids, logp } = teacherOf(lcg(T * V, 12, 3), T, V, K);
      const weights = [0.5, 0, 1.25, 0.1];
      const g = kl_reverse_backward(logits, ids, logp, weights, T, V, K);
      const fd = numericGrad(logits, (x) => kl_reverse_forward(x, ids, logp, weights, T, V, K).loss);
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - fd[i]));
      console.log(`kl_reverse V=${V} K=${K}: max |dlogits − finite differences| ${worst.toExponential(2)}`);
      expectClose(g, fd, 1e-8);
      for (let v = 0; v < V; v++) expect(g[1 * V + v]).toBe(0);
      // Each row's gradient sums to zero: softmax is shift-invariant.
      for (const t of [0, 2, 3]) expect(Math.abs(g.slice(t * V, (t + 1) * V).reduce((s, x) => s + x, 0))).toBeLessThan(1e-12);
      const f = kl_reverse_forward(logits, ids, logp, weights, T, V, K);
      for (const t of [0, 2, 3]) expect(f.losses[t]).toBeGreaterThan(0);
      expect(f.losses[1]).toBe(0);
    });
  }
});

describe('kl_reverse by hand', () => {
  it('K = V is the textbook KL(q || p), and its gradient is q_j·(log q_j − log p_j − KL)', () => {
    const V = 6;
    const logits = lcg(V, 3, 2);
    const teacher = lcg(V, 4, 2);
    const { ids, logp } = teacherOf(teacher, 1, V, V);
    const lp = logSoftmax(teacher);
    const lq = logSoftmax(logits);
    const want = lq.reduce((s, l, v) => s + Math.exp(l) * (l - lp[v]), 0);
    const f = kl_reverse_forward(logits, ids, logp, [1], 1, V, V);
    expect(f.loss).toBeCloseTo(want, 12);
    const g = kl_reverse_backward(logits, ids, logp, [1], 1, V, V);
    for (let v = 0; v < V; v++) expect(g[v]).toBeCloseTo(Math.exp(lq[v]) * (lq[v] - lp[v] - want), 12);
  });

  it('the binned KL is a lower bound of the full reverse KL, reached as K grows to V', () => {
    const V = 20;
    const logits = lcg(V, 5, 3);
    const teacher = lcg(V, 6, 3);
    const lp = logSoftmax(teacher);
    const lq = logSoftmax(logits);
    const full = lq.reduce((s, l, v) => s + Math.exp(l) * (l - lp[v]), 0);
    let prev = 0;
    for (const K of [1, 4, 10, 19, 20]) {
      const { ids, logp } = teacherOf(teacher, 1, V, K);
      const kl = kl_reverse_forward(logits, ids, logp, [1], 1, V, K).loss;
      console.log(`kl_reverse V=${V} K=${K}: binned ${kl.toFixed(6)} of the full ${full.toFixed(6)}`);
      expect(kl).toBeLessThanOrEqual(full + 1e-12);
      expect(kl).toBeGreaterThanOrEqual(prev - 1e-12); // a finer binning keeps at least as much of it
      prev = kl;
    }
    expect(prev).toBeCloseTo(full, 12);
  });

  it('a student equal to its teacher has zero loss and zero gradient, rest bin included', () => {
    const [T, V, K] = [3, 10, 4];
    const logits = lcg(T * V, 7, 4);
    const { ids, logp } = teacherOf(logits, T, V, K);
    const f = kl_reverse_forward(logits, ids, logp, [1, 2, 3], T, V, K);
    expect(Math.abs(f.loss)).toBeLessThan(1e-14);
    for (const x of kl_reverse_backward(logits, ids, logp, [1, 2, 3], T, V, K)) expect(Math.abs(x)).toBeLessThan(1e-15);
  });

  it('refuses a repeated or out-of-vocabulary teacher id', () => {
    expect(() => kl_reverse_forward([0, 0, 0], [1, 1], [-1, -1], [1], 1, 3, 2)).toThrow(/appears twice/);
    expect(() => kl_reverse_forward([0, 0, 0], [3], [-1], [1], 1, 3, 1)).toThrow(/outside \[0, 3\)/);
  });
});
