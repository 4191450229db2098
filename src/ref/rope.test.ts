// The float64 reference of rope: dx against central finite differences of the forward (loss = Σ y·g with random g),
// the backward undoing the forward, and Llama 3's frequency rescaling worked out by hand.
import { describe, expect, it } from 'vitest';
import { dotWith, expectClose, numericGrad, randoms } from './gradcheck';
import { rope_backward, rope_forward, rope_inv_freq } from './rope';

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
