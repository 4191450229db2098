// Checks the KV-cache reference: attention over a cache filled by kv_cache_write equals the training attention on
// the same packed sequences (with and without a shared prefix slot), a case worked by hand, and the write's reach.
import { describe, expect, it } from 'vitest';
import { attention_forward, packedSeqStart } from './attention';
import { attention_cached, kv_cache_write } from './kv_cache';
import { lcg } from '../util/lcg';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('attention_cached vs attention_forward', () => {
  const heads = [
    { name: 'MHA', H: 2, KV: 2 },
    { name: 'GQA', H: 4, KV: 2 },
    { name: 'MQA', H: 3, KV: 1 },
  ];
  for (const { name, H, KV } of heads) {
    it(`${name}: two sequences prefilled into slots 2 and 0`, () => {
      const D = 3;
      const S = 3;
      const L = 9;
      const lengths = [6, 4];
      const slots = [2, 0];
      const seqStart = packedSeqStart(lengths);
      const T = seqStart.length;
      const q = lcg(T * H * D, 1);
      const k = lcg(T * KV * D, 2);
      const v = lcg(T * KV * D, 3);
      const meta: number[] = [];
      lengths.forEach((n, i) => {
        for (let p = 0; p < n; p++) meta.push(slots[i], p, 0, 0);
      });
      const kc = lcg(S * L * KV * D, 4); // stale entries that no query may see
      const vc = lcg(S * L * KV * D, 5);
      kv_cache_write(kc, vc, k, v, meta, T, S, L, KV, D);
      const got = attention_cached(q, kc, vc, meta, T, H, KV, S, L, D);
      expect(maxDiff(got, attention_forward(q, k, v, seqStart, T, H, KV, D).out)).toBeLessThan(1e-14);
    });

    it(`${name}: a prefix slot followed by the query's own slot`, () => {
      const D = 2;
      const S = 4;
      const L = 8;
      const n = 11; // tokens 0..P-1 go to the prefix slot 0, P..n-1 to slot 3 at pos 0..
      const P = 5;
      const q = lcg(n * H * D, 6);
      const k = lcg(n * KV * D, 7);
      const v = lcg(n * KV * D, 8);
      const kc = lcg(S * L * KV * D, 9);
      const vc = lcg(S * L * KV * D, 10);
      const meta: number[] = [];
      for (let t = 0; t < n; t++) meta.push(...(t < P ? [0, t, 0, 0] : [3, t - P, 0, P]));
      kv_cache_write(kc, vc, k, v, meta, n, S, L, KV, D);
      const got = attention_cached(q, kc, vc, meta, n, H, KV, S, L, D);
      const want = attention_forward(q, k, v, new Uint32Array(n), n, H, KV, D).out;
      expect(maxDiff(got, want)).toBeLessThan(1e-14);
    });
  }
});

describe('by hand', () => {
  it('weighs prefix and own keys by exp(q·k)', () => {
    // S=2, L=2, KV=1, D=1 (scale 1). Slot 1 holds the prefix key ln 3 (value 6); slot 0 holds the own key 0
    // (value 2) at pos 0. Scores ln 3 and 0 give weights 3/4 and 1/4.
    const kc = new Float64Array([0, 99, Math.log(3), 99]);
    const vc = new Float64Array([2, 99, 6, 99]);
    const out = attention_cached([1], kc, vc, [0, 0, 1, 1], 1, 1, 1, 2, 2, 1);
    expect(out[0]).toBeCloseTo(0.75 * 6 + 0.25 * 2, 14);
  });

  it('a query with only its own first entry returns that value for every head', () => {
    const out = attention_cached([1, 2, -3, 0.5], [0.3, -0.7], [4, 5], [0, 0, 0, 0], 1, 2, 1, 1, 1, 2);
    expect(Array.from(out)).toEqual([4, 5, 4, 5]);
  });
});

describe('kv_cache_write', () => {
  it('writes rows (slot, pos) and nothing else; an inactive query (slot >= S) writes nothing', () => {
    const S = 3;
    const L = 4;
    const KV = 2;
    const D = 2;
    const kc = lcg(S * L * KV * D, 11);
    const vc = lcg(S * L * KV * D, 12);
    const k0 = Float64Array.from(kc);
    const v0 = Float64Array.from(vc);
    const k = lcg(3 * KV * D, 13);
    const v = lcg(3 * KV * D, 14);
    kv_cache_write(kc, vc, k, v, [2, 1, 0, 0, S, 0, 0, 0, 0, 3, 1, 2], 3, S, L, KV, D);
    const row = KV * D;
    for (let r = 0; r < S * L; r++) {
      const t = r === 2 * L + 1 ? 0 : r === 3 ? 2 : -1;
      for (let i = 0; i < row; i++) {
        expect(kc[r * row + i]).toBe(t < 0 ? k0[r * row + i] : k[t * row + i]);
        expect(vc[r * row + i]).toBe(t < 0 ? v0[r * row + i] : v[t * row + i]);
      }
    }
  });

  it('refuses positions outside the cache', () => {
    const c = new Float64Array(4);
    expect(() => kv_cache_write(c, c, [1], [1], [0, 4, 0, 0], 1, 1, 4, 1, 1)).toThrow(/pos 4/);
    expect(() => attention_cached([1], c, c, [0, 0, 1, 2], 1, 1, 1, 1, 4, 1)).toThrow(/prefix slot/);
    // A prefix may run on through later slots, not past the cache's end.
    expect(() => attention_cached([1], c, c, [0, 0, 0, 5], 1, 1, 1, 1, 4, 1)).toThrow(/past the cache's end/);
    expect(Array.from(attention_cached([1, 1], c, c, [1, 0, 0, 0], 1, 2, 1, 1, 4, 1))).toEqual([0, 0]);
  });
});
