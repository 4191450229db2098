// Checks the top-K distillation reference: its gradient against central finite differences of its loss (with the
// remainder bin and without it), the full-vocabulary case against the textbook KL, a student equal to its teacher,
// and the chunked gather against plain indexing.
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { KL_REST_EPS, kl_topk_backward, kl_topk_forward, kl_topk_gather } from './kl_topk';
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

function finiteDifferences(logits: Float64Array, loss: () => number, eps = 1e-5): Float64Array {
  const g = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const x0 = logits[i];
    logits[i] = x0 + eps;
    const up = loss();
    logits[i] = x0 - eps;
    const down = loss();
    logits[i] = x0;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

describe('kl_topk_backward vs finite differences', () => {
  for (const [V, K] of [[9, 3], [12, 1], [7, 7]]) {
    it(`T=4 V=${V} K=${K}, one token not distilled, varying weights`, () => {
      const T = 4;
      const logits = lcg(T * V, 1, 3);
      const { ids, logp } = teacherOf(lcg(T * V, 2, 3), T, V, K);
      const weights = [0.5, 0, 1.25, 0.1];
      const loss = () => kl_topk_forward(logits, ids, logp, weights, T, V, K).loss;
      const g = kl_topk_backward(logits, ids, logp, weights, T, V, K);
      const fd = finiteDifferences(logits, loss);
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - fd[i]));
      console.log(`kl_topk V=${V} K=${K}: max |dlogits − finite differences| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-9);
      for (let v = 0; v < V; v++) expect(g[1 * V + v]).toBe(0);
      // Each row's gradient sums to zero: softmax is shift-invariant.
      for (const t of [0, 2, 3]) expect(Math.abs(g.slice(t * V, (t + 1) * V).reduce((s, x) => s + x, 0))).toBeLessThan(1e-12);
      const f = kl_topk_forward(logits, ids, logp, weights, T, V, K);
      for (const t of [0, 2, 3]) expect(f.losses[t]).toBeGreaterThan(0);
      // K < V keeps the remainder bin (its a = 1); K = V has no remainder and skips it.
      if (K < V) expect(f.coef[0]).toBeCloseTo(1, 14);
    });
  }
});

describe('kl_topk by hand', () => {
  it('K = V is the textbook KL(p || q), and its gradient is q − p', () => {
    const V = 6;
    const logits = lcg(V, 3, 2);
    const teacher = lcg(V, 4, 2);
    const { ids, logp } = teacherOf(teacher, 1, V, V);
    const f = kl_topk_forward(logits, ids, logp, [1], 1, V, V);
    const lse = (x: Float64Array) => Math.log(x.reduce((s, v) => s + Math.exp(v), 0));
    const lp = Array.from(teacher, (x) => x - lse(teacher));
    const lq = Array.from(logits, (x) => x - lse(logits));
    const want = lp.reduce((s, l, v) => s + Math.exp(l) * (l - lq[v]), 0);
    expect(f.loss).toBeCloseTo(want, 13);
    const g = kl_topk_backward(logits, ids, logp, [1], 1, V, V);
    for (let v = 0; v < V; v++) expect(g[v]).toBeCloseTo(Math.exp(lq[v]) - Math.exp(lp[v]), 13);
  });

  it('a student equal to its teacher has zero loss and zero gradient, remainder bin included', () => {
    const T = 3;
    const V = 10;
    const logits = lcg(T * V, 5, 4);
    const { ids, logp } = teacherOf(logits, T, V, 4);
    const f = kl_topk_forward(logits, ids, logp, [1, 2, 3], T, V, 4);
    expect(Math.abs(f.loss)).toBeLessThan(1e-14);
    for (const x of kl_topk_backward(logits, ids, logp, [1, 2, 3], T, V, 4)) expect(Math.abs(x)).toBeLessThan(1e-15);
  });

  it('a teacher remainder below KL_REST_EPS is skipped: the loss is the top-K part alone', () => {
    const V = 5;
    const logits = [0, 1, 2, 3, 4];
    const ids = [4, 3];
    const logp = [Math.log(0.6), Math.log(0.4 - KL_REST_EPS / 2)];
    const f = kl_topk_forward(logits, ids, logp, [1], 1, V, 2);
    const lq = logits.map((x) => x - Math.log(logits.reduce((s, v) => s + Math.exp(v), 0)));
    expect(f.loss).toBeCloseTo(0.6 * (logp[0] - lq[4]) + Math.exp(logp[1]) * (logp[1] - lq[3]), 14);
  });

  it('refuses a repeated or out-of-vocabulary teacher id', () => {
    expect(() => kl_topk_forward([0, 0, 0], [1, 1], [-1, -1], [1], 1, 3, 2)).toThrow(/appears twice/);
    expect(() => kl_topk_forward([0, 0, 0], [3], [-1], [1], 1, 3, 1)).toThrow(/outside \[0, 3\)/);
  });
});

describe('kl_topk_gather over vocabulary chunks', () => {
  it('V=50 in chunks of 16 (padded rows) equals plain indexing', () => {
    const T = 5;
    const V = 50;
    const K = 4;
    const Vc = 16;
    const logits = lcg(T * V, 6, 5);
    const { ids } = teacherOf(lcg(T * V, 7, 5), T, V, K);
    let z: ArrayLike<number> = new Float64Array(T * K).fill(NaN);
    for (let v0 = 0; v0 < V; v0 += Vc) {
      const w = Math.min(Vc, V - v0);
      const stride = Vc + 2;
      const chunk = new Float64Array(T * stride).fill(NaN);
      for (let t = 0; t < T; t++) for (let j = 0; j < w; j++) chunk[t * stride + j] = logits[t * V + v0 + j];
      z = kl_topk_gather(chunk, ids, z, T, K, w, v0, stride);
    }
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) expect(z[t * K + k]).toBe(logits[t * V + ids[t * K + k]]);
  });
});
