// float64 reference for shaders/geglu.wgsl: Gemma's MLP gate, h = gelu_tanh(gate)·up, the tanh approximation of
// GELU that Gemma's hidden_activation gelu_pytorch_tanh names.

const K = Math.sqrt(2 / Math.PI);
const C = 0.044715;
const gelu = (g: number): number => 0.5 * g * (1 + Math.tanh(K * (g + C * g * g * g)));

/** h = gelu_tanh(gate)·up. gate, up: [T,F]. Returns h: [T,F]. */
export function geglu_forward(gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number): Float64Array {
  const h = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) h[i] = gelu(gate[i]) * up[i];
  return h;
}

/**
 * dgate = dh·up·gelu'(gate) with gelu'(g) = ½(1 + t) + ½·g·(1 − t²)·k·(1 + 3c·g²), t = tanh(k·(g + c·g³));
 * dup = dh·gelu(gate). dh, gate, up: [T,F]. Returns dgate, dup: [T,F].
 */
export function geglu_backward(
  dh: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  T: number,
  F: number,
): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(T * F);
  const dup = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) {
    const g = gate[i];
    const t = Math.tanh(K * (g + C * g * g * g));
    dgate[i] = dh[i] * up[i] * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * K * (1 + 3 * C * g * g));
    dup[i] = dh[i] * gelu(g);
  }
  return { dgate, dup };
}
