// The float64 references of swiglu and geglu: values worked out by hand, and dgate and dup against central finite
// differences of the forward (loss = Σ h·g with random g), including saturated gates, one body for both.
import { describe, expect, it } from 'vitest';
import { dotWith, expectClose, numericGrad, randoms } from './gradcheck';
import { geglu_backward, geglu_forward, swiglu_backward, swiglu_forward } from './gated';

describe('swiglu reference', () => {
  it('matches hand-computed values', () => {
    const silu1 = 1 / (1 + Math.exp(-1));
    const h = swiglu_forward([0, 1, -1], [5, 2, 3], 1, 3);
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(2 * silu1, 14);
    expect(h[2]).toBeCloseTo(-3 * (1 - silu1), 14); // silu(-1) = -σ(-1) = -(1 - σ(1))
    const { dgate, dup } = swiglu_backward([1, 1, 1], [0, 1, -1], [5, 2, 3], 1, 3);
    expect(dgate[0]).toBeCloseTo(2.5, 14); // silu'(0) = 1/2
    expect(dup[0]).toBe(0);
    expect(dup[1]).toBeCloseTo(silu1, 14);
  });
});

describe('geglu reference', () => {
  it('matches hand-computed values', () => {
    // gelu_tanh(1) = ½(1 + tanh(√(2/π)·1.044715)) = 0.8411919906082768 (PyTorch's gelu(1, approximate='tanh'))
    const h = geglu_forward([0, 1, -1, 30], [5, 2, 3, 1], 1, 4);
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(2 * 0.8411919906082768, 14);
    expect(h[2]).toBeCloseTo(3 * (0.8411919906082768 - 1), 14); // gelu(−g) = gelu(g) − g
    expect(h[3]).toBe(30);
    const { dgate, dup } = geglu_backward([1, 1, 1], [0, 1, -1], [5, 2, 3], 1, 3);
    expect(dgate[0]).toBeCloseTo(2.5, 14); // gelu'(0) = 1/2
    expect(dup[0]).toBe(0);
    expect(dup[1]).toBeCloseTo(0.8411919906082768, 14);
  });
});

describe.each([
  { name: 'swiglu', forward: swiglu_forward, backward: swiglu_backward },
  { name: 'geglu', forward: geglu_forward, backward: geglu_backward },
])('$name reference', (op) => {
  it('dgate and dup match finite differences (T=3, F=5), with large |gate| too', () => {
    const [T, F] = [3, 5];
    const gate = randoms(T * F, 6, 4);
    gate[0] = 30;
    gate[1] = -30;
    const up = randoms(T * F, 7);
    const g = randoms(T * F, 8);
    const { dgate, dup } = op.backward(g, gate, up, T, F);
    expectClose(dgate, numericGrad(gate, (gg) => dotWith(op.forward(gg, up, T, F), g)));
    expectClose(dup, numericGrad(up, (uu) => dotWith(op.forward(gate, uu, T, F), g)));
  });
});
