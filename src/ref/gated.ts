// float64 references for shaders/swiglu.wgsl and shaders/geglu.wgsl: the MLP's gate h = act(gate)·up between the
// gate/up projections and down_proj. swiglu (Llama, Qwen) uses silu; geglu (Gemma) the tanh approximation of GELU
// that Gemma's hidden_activation gelu_pytorch_tanh names. Both share the elementwise loops below.

interface Activation {
  f: (g: number) => number;
  df: (g: number) => number;
}

function gatedForward(act: Activation, gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number): Float64Array {
  const h = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) h[i] = act.f(gate[i]) * up[i];
  return h;
}

/** dgate = dh·up·act'(gate), dup = dh·act(gate). */
function gatedBackward(act: Activation, dh: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number) {
  const dgate = new Float64Array(T * F);
  const dup = new Float64Array(T * F);
  for (let i = 0; i < T * F; i++) {
    dgate[i] = dh[i] * up[i] * act.df(gate[i]);
    dup[i] = dh[i] * act.f(gate[i]);
  }
  return { dgate, dup };
}

const sigmoid = (g: number): number => 1 / (1 + Math.exp(-g));

/** silu(g) = g·σ(g); silu'(g) = σ(g)·(1 + g·(1 − σ(g))). */
const SILU: Activation = {
  f: (g) => g * sigmoid(g),
  df: (g) => sigmoid(g) * (1 + g * (1 - sigmoid(g))),
};

const K = Math.sqrt(2 / Math.PI);
const C = 0.044715;
const tanhArg = (g: number) => Math.tanh(K * (g + C * g * g * g));

/** gelu_tanh(g) = ½·g·(1 + t), t = tanh(k·(g + c·g³)); gelu'(g) = ½(1 + t) + ½·g·(1 − t²)·k·(1 + 3c·g²). */
const GELU_TANH: Activation = {
  f: (g) => 0.5 * g * (1 + tanhArg(g)),
  df: (g) => {
    const t = tanhArg(g);
    return 0.5 * (1 + t) + 0.5 * g * (1 - t * t) * K * (1 + 3 * C * g * g);
  },
};

/** h = silu(gate)·up. gate, up: [T,F]. Returns h: [T,F]. */
export const swiglu_forward = (gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number) => gatedForward(SILU, gate, up, T, F);

/** dgate = dh·up·silu'(gate), dup = dh·silu(gate). dh, gate, up: [T,F]. Returns dgate, dup: [T,F]. */
export const swiglu_backward = (dh: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number) =>
  gatedBackward(SILU, dh, gate, up, T, F);

/** h = gelu_tanh(gate)·up. gate, up: [T,F]. Returns h: [T,F]. */
export const geglu_forward = (gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number) => gatedForward(GELU_TANH, gate, up, T, F);

/** dgate = dh·up·gelu'(gate), dup = dh·gelu(gate). dh, gate, up: [T,F]. Returns dgate, dup: [T,F]. */
export const geglu_backward = (dh: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>, T: number, F: number) =>
  gatedBackward(GELU_TANH, dh, gate, up, T, F);
