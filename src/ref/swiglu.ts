// float64 reference for shaders/swiglu.wgsl: the Llama/Qwen2 MLP's gate, h = silu(gate)·up, between the
// gate/up projections and down_proj.

const sigmoid = (g: number): number => 1 / (1 + Math.exp(-g));

/** h = silu(gate)·up with silu(g) = g/(1+e^(−g)). gate, up: [T,F]. Returns h: [T,F]. */
export function swiglu_forward(gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number): Float64Array {
  const h = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) h[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return h;
}

/**
 * dgate = dh·up·silu'(gate) with silu'(g) = σ(g)·(1 + g·(1 − σ(g))); dup = dh·silu(gate).
 * dh, gate, up: [T,F]. Returns dgate, dup: [T,F].
 */
export function swiglu_backward(
  dh: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  T: number,
  F: number,
): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(T * F);
  const dup = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) {
    const s = sigmoid(gate[i]);
    dgate[i] = dh[i] * up[i] * s * (1 + gate[i] * (1 - s));
    dup[i] = dh[i] * gate[i] * s;
  }
  return { dgate, dup };
}
