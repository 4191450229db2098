// Checks the dropout hash: pinned values (the WGSL copy must reproduce them), the keep rate, and that the GPU's
// integer threshold makes the same decision as dropout_keep's hash/2^32 >= p.
import { describe, expect, it } from 'vitest';
import { dropout_threshold } from '../llama/dropout';
import { dropout_hash, dropout_keep, dropout_pcg } from './dropout';

describe('dropout_keep', () => {
  it('is a fixed function of seed and index (pinned PCG values)', () => {
    // Math.imul and >>> must give the exact u32 arithmetic WGSL does: compare with BigInt mod 2^32.
    const M = (1n << 32n) - 1n;
    const pcgBig = (v: number) => {
      const s = (BigInt(v) * 747796405n + 2891336453n) & M;
      const w = (((s >> ((s >> 28n) + 4n)) ^ s) * 277803737n) & M;
      return Number((w >> 22n) ^ w);
    };
    for (const v of [0, 1, 123456789, 2 ** 31, 2 ** 32 - 1]) expect(dropout_pcg(v)).toBe(pcgBig(v));
    expect(dropout_pcg(0)).toBe(129708002);
    expect(dropout_pcg(1)).toBe(2831084092);
    expect(dropout_hash(7, 5)).toBe(dropout_hash(7, 5));
    expect(dropout_hash(7, 5)).not.toBe(dropout_hash(8, 5));
  });

  it('keeps about 1 - p of the elements, and all of them when p = 0', () => {
    for (const p of [0, 0.1, 0.3, 0.5]) {
      let kept = 0;
      const n = 100_000;
      for (let i = 0; i < n; i++) if (dropout_keep(42, i, p)) kept++;
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.01);
    }
  });

  it('gives different masks for different seeds', () => {
    let same = 0;
    for (let i = 0; i < 10_000; i++) if (dropout_keep(1, i, 0.5) === dropout_keep(2, i, 0.5)) same++;
    expect(Math.abs(same / 10_000 - 0.5)).toBeLessThan(0.03);
  });

  it('agrees with the integer threshold the GPU uses', () => {
    for (const p of [0, 0.1, 0.3, 0.5, 0.9, 1 / 3, 1 - 2 ** -32]) {
      const thr = dropout_threshold(p);
      let disagree = 0;
      for (let i = 0; i < 20_000; i++) if (dropout_hash(3, i) >= thr !== dropout_keep(3, i, p)) disagree++;
      expect(disagree).toBe(0);
      // At the threshold itself: hash = thr is kept, hash = thr - 1 is not.
      if (thr > 0) expect([thr / 2 ** 32 >= p, (thr - 1) / 2 ** 32 >= p]).toEqual([true, false]);
    }
    expect(() => dropout_threshold(1)).toThrow(/\[0, 1\)/);
  });
});
