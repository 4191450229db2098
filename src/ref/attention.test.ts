// Checks the attention reference: its backward against central finite differences of its forward, a few cases
// worked by hand, and that packed sequences never see each other.
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { attention_backward, attention_forward, packedSeqStart } from './attention';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

describe('attention_backward vs finite differences', () => {
  const cases = [
    { name: 'MHA one sequence', lengths: [5], H: 2, KV: 2, D: 3 },
    { name: 'GQA packed 3,1,4', lengths: [3, 1, 4], H: 4, KV: 2, D: 3 },
    { name: 'MQA packed 2,3', lengths: [2, 3], H: 3, KV: 1, D: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { H, KV, D } = c;
      const seqStart = packedSeqStart(c.lengths);
      const T = seqStart.length;
      const q = lcg(T * H * D, 1);
      const k = lcg(T * KV * D, 2);
      const v = lcg(T * KV * D, 3);
      // A loss in which every output element matters: L = sum(out * w).
      const w = lcg(T * H * D, 4);
      const loss = () => dot(attention_forward(q, k, v, seqStart, T, H, KV, D).out, w);
      const { out, lse } = attention_forward(q, k, v, seqStart, T, H, KV, D);
      const grads = attention_backward(w, q, k, v, out, lse, seqStart, T, H, KV, D);
      const eps = 1e-5;
      for (const [name, x, g] of [
        ['q', q, grads.dq],
        ['k', k, grads.dk],
        ['v', v, grads.dv],
      ] as const) {
        for (let i = 0; i < x.length; i++) {
          const x0 = x[i];
          x[i] = x0 + eps;
          const up = loss();
          x[i] = x0 - eps;
          const down = loss();
          x[i] = x0;
          const fd = (up - down) / (2 * eps);
          expect(Math.abs(g[i] - fd), `d${name}[${i}]`).toBeLessThan(1e-8);
        }
      }
    });
  }
});

describe('attention_forward by hand', () => {
  it('a single token returns its own value and lse = scale * q·k', () => {
    const q = [1, 2, 0, -1]; // H=2, D=2
    const k = [0.5, -1];
    const v = [3, 4];
    const { out, lse } = attention_forward(q, k, v, [0], 1, 2, 1, 2);
    expect(Array.from(out)).toEqual([3, 4, 3, 4]);
    expect(lse[0]).toBeCloseTo((0.5 - 2) / Math.SQRT2, 14);
    expect(lse[1]).toBeCloseTo((0 + 1) / Math.SQRT2, 14);
  });

  it('two tokens weigh the keys by exp(q·k)', () => {
    // D=1 so scale=1; token 1's scores are 0 and ln 3, weights 1/4 and 3/4.
    const { out, lse } = attention_forward([7, 1], [0, Math.log(3)], [2, 6], [0, 0], 2, 1, 1, 1);
    expect(out[0]).toBeCloseTo(2, 14);
    expect(out[1]).toBeCloseTo(0.25 * 2 + 0.75 * 6, 14);
    expect(lse[1]).toBeCloseTo(Math.log(4), 14);
  });

  it('dv of a single token is dout summed over the heads sharing its kv head', () => {
    const { out, lse } = attention_forward([1, 2], [3], [4], [0], 1, 2, 1, 1);
    const g = attention_backward([0.5, 0.25], [1, 2], [3], [4], out, lse, [0], 1, 2, 1, 1);
    expect(Array.from(g.dv)).toEqual([0.75]);
    // With one key the softmax is constant, so q and k get no gradient.
    expect(Array.from(g.dq)).toEqual([0, 0]);
    expect(Array.from(g.dk)).toEqual([0]);
  });
});

describe('packed sequences', () => {
  it('packedSeqStart marks each token with its sequence start', () => {
    expect(Array.from(packedSeqStart([2, 1, 3]))).toEqual([0, 0, 2, 3, 3, 3]);
  });

  it('a token never attends across a sequence boundary', () => {
    const lengths = [3, 2, 4];
    const seqStart = packedSeqStart(lengths);
    const T = 9, H = 2, KV = 1, D = 2;
    const q = lcg(T * H * D, 5);
    const k = lcg(T * KV * D, 6);
    const v = lcg(T * KV * D, 7);
    const a = attention_forward(q, k, v, seqStart, T, H, KV, D);
    // Change key and value of token 4 (second sequence, tokens 3..4): only token 4 sees it (token 3 is causal).
    const k2 = Float64Array.from(k);
    const v2 = Float64Array.from(v);
    k2[4 * D] += 1;
    v2[4 * D + 1] -= 1;
    const b = attention_forward(q, k2, v2, seqStart, T, H, KV, D);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const o = (t * H + h) * D;
        const moved = a.out[o] !== b.out[o] || a.out[o + 1] !== b.out[o + 1];
        expect(moved, `t=${t} h=${h}`).toBe(t === 4);
      }
    }
  });
});
