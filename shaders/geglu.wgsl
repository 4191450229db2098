// Gemma's MLP gate h = gelu_tanh(gate)·up and its gradients, elementwise over [T,F]: swiglu's twin with the tanh
// approximation of GELU (HF's gelu_pytorch_tanh). Out of place, for the same reason as swiglu.

struct GegluParams {
  n: u32,    // elements, T*F
  row: u32,  // elements per grid row (x workgroups * 256), for grids that spill into y
}

// forward
@group(0) @binding(0) var<storage, read> geglu_gate: array<f32>;          // [T,F]
@group(0) @binding(1) var<storage, read> geglu_up: array<f32>;            // [T,F]
@group(0) @binding(2) var<storage, read_write> geglu_h: array<f32>;       // [T,F]
@group(0) @binding(3) var<uniform> geglu_fp: GegluParams;

// backward
@group(0) @binding(0) var<storage, read> geglu_dh: array<f32>;            // [T,F]
@group(0) @binding(1) var<storage, read> geglu_bgate: array<f32>;         // [T,F]
@group(0) @binding(2) var<storage, read> geglu_bup: array<f32>;           // [T,F]
@group(0) @binding(3) var<storage, read_write> geglu_dgate: array<f32>;   // [T,F]
@group(0) @binding(4) var<storage, read_write> geglu_dup: array<f32>;     // [T,F]
@group(0) @binding(5) var<uniform> geglu_bp: GegluParams;

const GEGLU_K: f32 = 0.7978845608028654; // √(2/π)
const GEGLU_C: f32 = 0.044715;

// ½(1 + tanh(u)) = σ(2u) = 1/(1 + e^(−2u)): no cancellation where the gate is negative (1 + tanh would lose every
// digit), and e^(−2u) = +inf gives 0, never NaN as a builtin tanh may.
fn geglu_half1p_tanh(g: f32) -> f32 {
  return 1.0 / (1.0 + exp(-2.0 * GEGLU_K * (g + GEGLU_C * g * g * g)));
}

@compute @workgroup_size(256)
fn geglu_forward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * geglu_fp.row + gid.x;
  if (i < geglu_fp.n) {
    let g = geglu_gate[i];
    geglu_h[i] = g * geglu_half1p_tanh(g) * geglu_up[i];
  }
}

// gelu'(g) = ½(1 + t) + ½·g·(1 − t²)·k·(1 + 3c·g²) = s + 2·g·s·(1 − s)·k·(1 + 3c·g²) with s = ½(1 + t);
// dgate = dh·up·gelu'(g), dup = dh·gelu(g)
@compute @workgroup_size(256)
fn geglu_backward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * geglu_bp.row + gid.x;
  if (i < geglu_bp.n) {
    let g = geglu_bgate[i];
    let s = geglu_half1p_tanh(g);
    let dh = geglu_dh[i];
    let dgelu = s + 2.0 * g * s * (1.0 - s) * GEGLU_K * (1.0 + 3.0 * GEGLU_C * g * g);
    geglu_dgate[i] = dh * geglu_bup[i] * dgelu;
    geglu_dup[i] = dh * g * s;
  }
}
