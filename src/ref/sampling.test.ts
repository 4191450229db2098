// Checks the sampling reference: its key order and hash against independent versions (sorting floats, BigInt
// arithmetic), hand-worked top-k/top-p cases, and kept sets against a sort-based copy of Hugging Face's warpers.
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import {
  SAMPLING_KEY_NEG_INF,
  sample_tokens,
  sampling_key,
  sampling_pcg,
  sampling_scaled,
  sampling_uniform,
  type SamplingSettings,
} from './sampling';

const row = (temperature: number, topK = 0, topP = 1, seed = 1, step = 0): SamplingSettings => ({ temperature, topK, topP, seed, step });

/** The eligible ids of row b, rebuilt from the threshold the way a caller (or the GPU test) would. */
function eligible(logits: ArrayLike<number>, b: number, V: number, temperature: number, threshold: number): number[] {
  const ids: number[] = [];
  for (let v = 0; v < V; v++) if (sampling_key(sampling_scaled(logits[b * V + v], temperature)) >= threshold) ids.push(v);
  return ids;
}

/** Hugging Face's TopK, TopP then MinP warpers, by sorting, in float64; returns the ids left with finite scores. */
function hfKept(logits: number[], s: SamplingSettings): number[] {
  let z = logits.map((l) => Math.fround(l / Math.fround(s.temperature)));
  if (s.topK > 0 && s.topK < z.length) {
    const kth = [...z].sort((a, b) => b - a)[s.topK - 1];
    z = z.map((x) => (x < kth ? -Infinity : x));
  }
  if (s.topP < 1) {
    const m = Math.max(...z);
    const p = z.map((x) => Math.exp(x - m));
    const total = p.reduce((a, b) => a + b, 0);
    const asc = z.map((_, i) => i).sort((a, b) => z[a] - z[b]);
    let cum = 0;
    const removed = asc.map((i) => ((cum += p[i] / total), cum <= 1 - Math.fround(s.topP)));
    removed[removed.length - 1] = false; // min_tokens_to_keep = 1
    asc.forEach((i, j) => removed[j] && (z[i] = -Infinity));
  }
  if (s.minP && s.minP > 0) {
    // Probabilities against the top one's, over what top-k and top-p left.
    const m = Math.max(...z);
    z = z.map((x) => (Math.exp(x - m) < s.minP! ? -Infinity : x));
  }
  return z.flatMap((x, i) => (x === -Infinity ? [] : [i]));
}

describe('sampling_key', () => {
  it('orders keys as the floats, -0 and +0 equal, -inf at SAMPLING_KEY_NEG_INF', () => {
    const xs = [-Infinity, -3.4e38, -1e4, -1, -1e-30, -0, 0, 1e-45, 1e-30, 1, 1.0000001, 1e4, 3.4e38, Infinity];
    const keys = xs.map(sampling_key);
    for (let i = 1; i < xs.length; i++) {
      if (Object.is(xs[i - 1], -0)) expect(keys[i]).toBe(keys[i - 1]);
      else expect(keys[i]).toBeGreaterThan(keys[i - 1]);
    }
    expect(sampling_key(-Infinity)).toBe(SAMPLING_KEY_NEG_INF);
    expect(sampling_key(0)).toBe(0x80000000);
    expect(sampling_key(-1)).toBe(~0xbf800000 >>> 0);
  });

  it('sorts random floats the same way as their values', () => {
    const xs = Array.from(lcg(500, 3, 1e3), Math.fround);
    const byKey = [...xs].sort((a, b) => sampling_key(a) - sampling_key(b));
    expect(byKey).toEqual([...xs].sort((a, b) => a - b));
  });
});

describe('sampling_uniform', () => {
  const pcgBig = (v: bigint): bigint => {
    const M = 0xffffffffn;
    const state = (v * 747796405n + 2891336453n) & M;
    const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) & M;
    return (word >> 22n) ^ word;
  };

  it('hashes as the BigInt PCG does', () => {
    for (const v of [0, 1, 2, 12345, 0x7fffffff, 0x80000000, 0xffffffff]) expect(sampling_pcg(v)).toBe(Number(pcgBig(BigInt(v))));
    const h = pcgBig(7n ^ pcgBig(3n));
    expect(sampling_uniform(7, 3)).toBe(Number(h >> 8n) / 2 ** 24);
  });

  it('is in [0, 1), 24-bit, differs across seeds and steps, and is about uniform', () => {
    const us = Array.from({ length: 4000 }, (_, i) => sampling_uniform(i, 9));
    for (const u of us) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
    }
    expect(new Set(us).size).toBeGreaterThan(3990);
    expect(Math.abs(us.reduce((a, b) => a + b, 0) / us.length - 0.5)).toBeLessThan(0.02);
    expect(sampling_uniform(1, 2)).not.toBe(sampling_uniform(1, 3));
    expect(sampling_uniform(1, 2)).not.toBe(sampling_uniform(2, 2));
  });
});

describe('sample_tokens by hand', () => {
  // probabilities 0.1, 0.2, 0.3, 0.4 at temperature 1
  const L = [1, 2, 3, 4].map(Math.log);
  const kept = (s: SamplingSettings, logits = L) => {
    const r = sample_tokens(logits, [s], 1, logits.length);
    const ids = eligible(logits, 0, logits.length, s.temperature, r.threshold[0]);
    expect(ids.length).toBe(r.kept[0]);
    expect(ids).toContain(r.ids[0]);
    return ids;
  };

  it('top-k, top-p and both (top-p over the top-k survivors)', () => {
    expect(kept(row(1))).toEqual([0, 1, 2, 3]);
    expect(sample_tokens(L, [row(1)], 1, 4).threshold[0]).toBe(0);
    expect(kept(row(1, 2))).toEqual([2, 3]);
    expect(kept(row(1, 1))).toEqual([3]);
    expect(kept(row(1, 4))).toEqual([0, 1, 2, 3]); // k >= V is off
    expect(kept(row(1, 0, 0.3))).toEqual([3]); // 0.4 >= 0.3
    expect(kept(row(1, 0, 0.5))).toEqual([2, 3]); // 0.4 < 0.5 <= 0.7
    expect(kept(row(1, 0, 0.75))).toEqual([1, 2, 3]);
    expect(kept(row(1, 0, 0))).toEqual([3]); // at least one token
    // top-3 leaves 2/9, 3/9, 4/9: 4/9 < 0.5 <= 7/9, and 7/9 < 0.8
    expect(kept(row(1, 3, 0.5))).toEqual([2, 3]);
    expect(kept(row(1, 3, 0.8))).toEqual([1, 2, 3]);
  });

  it('min-p keeps the tokens at least minP times as likely as the top one, after top-k and top-p', () => {
    const p = (minP: number, s = row(1)) => kept({ ...s, minP });
    expect(p(0.4)).toEqual([1, 2, 3]); // 0.2 >= 0.16
    expect(p(0.6)).toEqual([2, 3]); // 0.3 >= 0.24 > 0.2
    expect(p(0.9)).toEqual([3]);
    expect(p(1)).toEqual([3]);
    expect(p(0.01)).toEqual([0, 1, 2, 3]);
    expect(p(0)).toEqual([0, 1, 2, 3]); // 0: off
    expect(p(0.4, row(1, 2))).toEqual([2, 3]); // top-k first
    expect(p(0.6, row(1, 0, 0.95))).toEqual([2, 3]);
    // Relative to the max: a flat row keeps its whole plateau where top-p 0.9 cuts its lower part.
    const plateau = [0, 0, 0, 0, -0.2, -0.2, -9, -9];
    expect(kept({ ...row(1), minP: 0.5 }, plateau)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(kept(row(1, 0, 0.7), plateau)).toEqual([0, 1, 2, 3]);
    // Ties at the boundary stay: max 0 plus ln(minP), built so the f32 boundary is the tied logit itself.
    const ln = Math.fround(Math.log(0.25));
    expect(kept({ ...row(1), minP: 0.25 }, [0, ln, ln, ln - 1e-3])).toEqual([0, 1, 2]);
    expect(() => sample_tokens(L, [{ ...row(1), minP: 1.5 }], 1, 4)).toThrow(/min-p 1.5 is not in \(0, 1\]/);
  });

  it('keeps every token tied at the top-k or top-p boundary', () => {
    const tied = [0, 1, 1, 1, 2];
    expect(kept(row(1, 2), tied)).toEqual([1, 2, 3, 4]);
    expect(kept(row(1, 0, 0.6), tied)).toEqual([1, 2, 3, 4]); // the max alone is < 0.6
  });

  it('draws in token order by cumulative mass', () => {
    // Four equal tokens: the draw is floor(4u).
    for (let seed = 0; seed < 20; seed++) {
      const r = sample_tokens([5, 5, 5, 5], [row(0.7, 0, 1, seed, 4)], 1, 4);
      expect(r.ids[0]).toBe(Math.floor(4 * sampling_uniform(seed, 4)));
    }
    // 0.1, 0.2, 0.3, 0.4: boundaries at 0.1, 0.3, 0.6.
    for (let seed = 0; seed < 50; seed++) {
      const u = sampling_uniform(seed, 0);
      const want = u < 0.1 ? 0 : u < 0.3 ? 1 : u < 0.6 ? 2 : 3;
      expect(sample_tokens(L, [row(1, 0, 1, seed)], 1, 4).ids[0]).toBe(want);
    }
  });

  it('greedy takes the lowest id among tied maxima; temperature 0 ignores top-k and top-p', () => {
    const r = sample_tokens([1, 3, -2, 3, 3, 0], [row(0, 1, 0.1)], 1, 6);
    expect([r.ids[0], r.kept[0], r.threshold[0]]).toEqual([1, 1, sampling_key(3)]);
  });

  it('never draws a masked (-inf) token, and scales by the temperature', () => {
    const masked = [-Infinity, 0, -Infinity, 0.5, -Infinity];
    for (let seed = 0; seed < 30; seed++) expect([1, 3]).toContain(sample_tokens(masked, [row(1, 0, 1, seed)], 1, 5).ids[0]);
    expect(sample_tokens(masked, [row(1, 0, 0.9)], 1, 5).kept[0]).toBe(2); // masked tokens are below any top-p threshold
    // A hotter row spreads the mass: top-p 0.6 needs more tokens (p^4: 0.72 alone; p^0.25: 0.29, 0.55, 0.80).
    expect(kept(row(0.25, 0, 0.6))).toEqual([3]);
    expect(kept(row(1, 0, 0.6))).toEqual([2, 3]);
    expect(kept(row(4, 0, 0.6))).toEqual([1, 2, 3]);
  });

  it('counts NaN and infinite logits per row, f32 overflow included', () => {
    const r = sample_tokens([NaN, 1, Infinity, 0, 0, 1e39, 0, 0, 1, 2, 3, 4], [row(0), row(1), row(1, 2)], 3, 4);
    expect([...r.nonFinite]).toEqual([2, 1, 0]);
  });
});

describe('sample_tokens vs Hugging Face warpers (sort-based) on random rows', () => {
  const V = 300;
  const logits = Array.from(Float32Array.from(lcg(4 * V, 11, 6))); // f32 values, as the GPU holds them
  const cases = [row(1, 1), row(1, 5), row(0.8, 50), row(1, 0, 0.5), row(1.3, 0, 0.9), row(1, 0, 0.999), row(0.6, 50, 0.9), row(2, 5, 0.5),
    { ...row(1), minP: 0.1 }, { ...row(1.3), minP: 0.02 }, { ...row(0.8, 50, 0.9), minP: 0.3 }];
  for (const s of cases) {
    it(`T=${s.temperature} topK=${s.topK} topP=${s.topP} minP=${s.minP ?? 0}`, () => {
      const r = sample_tokens(logits, [s, s, s, s], 4, V);
      for (let b = 0; b < 4; b++) {
        const rowLogits = logits.slice(b * V, (b + 1) * V);
        const want = hfKept(rowLogits, s);
        expect(eligible(logits, b, V, s.temperature, r.threshold[b])).toEqual(want);
        expect(r.kept[b]).toBe(want.length);
        expect(want).toContain(r.ids[b]);
      }
    });
  }
});
