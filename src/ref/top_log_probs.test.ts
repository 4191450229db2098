// Checks the teacher's top-K reference against a brute force: sort the whole row by (logit descending, id
// ascending) and take K, and the log-sum-exp summed without the max shift, on rows full of ties, -0 beside +0 and
// masked logits; and the rows the rules single out (fewer finite logits than K, nothing finite, NaN, +inf).
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { top_log_probs } from './top_log_probs';

/** The brute force: every id sorted, the first K kept; log Σ exp(x) without a shift (the logits here are small). */
function bruteForce(logits: number[], K: number): { ids: number[]; logp: number[] } {
  const rank = (x: number) => (Number.isNaN(x) ? -Infinity : x);
  const order = logits.map((_, v) => v).sort((a, b) => (rank(logits[b]) > rank(logits[a]) ? 1 : rank(logits[b]) < rank(logits[a]) ? -1 : a - b));
  const lse = Math.log(logits.reduce((s, x) => s + Math.exp(x), 0));
  return { ids: order.slice(0, K), logp: order.slice(0, K).map((v) => logits[v] - lse) };
}

/** Logits on a coarse grid (many ties), some masked, some -0. */
function tiedRow(V: number, seed: number, masked: number): number[] {
  return Array.from(lcg(V, seed, 4), (x, v) => {
    if ((v * 7 + seed) % 100 < masked) return -Infinity;
    const q = Math.round(x * 2) / 2;
    return q === 0 && v % 2 ? -0 : q;
  });
}

describe('top_log_probs vs a full sort', () => {
  for (const [V, K, masked] of [[50, 1, 0], [50, 7, 10], [301, 32, 30], [64, 64, 5], [500, 256, 50]] as const) {
    it(`V=${V} K=${K}, ${masked}% masked, logits on a grid of 0.5`, () => {
      for (const seed of [1, 2, 3]) {
        const row = tiedRow(V, seed, masked);
        const got = top_log_probs(row, K);
        const want = bruteForce(row, K);
        expect(got.ids).toEqual(want.ids);
        for (let k = 0; k < K; k++) expect(got.logp[k]).toBeCloseTo(want.logp[k], 12);
        // The rows really have ties inside the top-K, so the id order is tested.
        if (K > 1) expect(new Set(want.ids.map((v) => row[v])).size).toBeLessThan(K);
      }
    });
  }
});

describe('the rows the rules single out', () => {
  it('ties go to the lowest id, and -0 ties +0', () => {
    expect(top_log_probs([1, 2, 2, 1, 2], 4).ids).toEqual([1, 2, 4, 0]);
    expect(top_log_probs([-1, 0, -0, 0, -0], 3).ids).toEqual([1, 2, 3]);
    expect(top_log_probs([-1, -0, 0], 2).ids).toEqual([1, 2]);
  });

  it('log-probs are the log-softmax over the whole row: logits ln 1, ln 3 give ln 1/4, ln 3/4', () => {
    const r = top_log_probs([Math.log(1), Math.log(3), -Infinity], 2);
    expect(r.ids).toEqual([1, 0]);
    expect(r.logp[0]).toBeCloseTo(Math.log(3 / 4), 14);
    expect(r.logp[1]).toBeCloseTo(Math.log(1 / 4), 14);
  });

  it('masked logits fill a row with fewer than K finite ones, by lowest id, at -inf', () => {
    const r = top_log_probs([-Infinity, 0, -Infinity, -Infinity, 0], 4);
    expect(r.ids).toEqual([1, 4, 0, 2]);
    expect(r.logp).toEqual([Math.log(0.5), Math.log(0.5), -Infinity, -Infinity]);
  });

  it('a row with nothing finite, a NaN or a +inf has NaN log-probs; NaN ranks as masked', () => {
    expect(top_log_probs([-Infinity, -Infinity], 1).logp).toEqual([NaN]);
    const nan = top_log_probs([NaN, 1, -Infinity, 2], 3);
    expect(nan.ids).toEqual([3, 1, 0]);
    expect(nan.logp).toEqual([NaN, NaN, NaN]);
    const inf = top_log_probs([1, Infinity, 2], 2);
    expect(inf.ids).toEqual([1, 2]);
    expect(inf.logp).toEqual([NaN, NaN]);
  });

  it('refuses K outside 1..V', () => {
    expect(() => top_log_probs([1, 2], 3)).toThrow(/K 3 for a vocabulary of 2/);
    expect(() => top_log_probs([1, 2], 0)).toThrow(/K 0/);
  });
});
