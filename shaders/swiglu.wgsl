// The Llama/Qwen2 MLP gate h = silu(gate)·up and its gradients, elementwise over [T,F]. Out of place: the backward
// needs gate and up, and WebGPU refuses a buffer bound both read-only and writable in one dispatch.

struct SwigluParams {
  n: u32,    // elements, T*F
  row: u32,  // elements per grid row (x workgroups * 256), for grids that spill into y
}

// forward
@group(0) @binding(0) var<storage, read> swiglu_gate: array<f32>;          // [T,F]
@group(0) @binding(1) var<storage, read> swiglu_up: array<f32>;            // [T,F]
@group(0) @binding(2) var<storage, read_write> swiglu_h: array<f32>;       // [T,F]
@group(0) @binding(3) var<uniform> swiglu_fp: SwigluParams;

// backward
@group(0) @binding(0) var<storage, read> swiglu_dh: array<f32>;            // [T,F]
@group(0) @binding(1) var<storage, read> swiglu_bgate: array<f32>;         // [T,F]
@group(0) @binding(2) var<storage, read> swiglu_bup: array<f32>;           // [T,F]
@group(0) @binding(3) var<storage, read_write> swiglu_dgate: array<f32>;   // [T,F]
@group(0) @binding(4) var<storage, read_write> swiglu_dup: array<f32>;     // [T,F]
@group(0) @binding(5) var<uniform> swiglu_bp: SwigluParams;

// σ(g) = 1/(1+e^(−g)); for g < −88 e^(−g) is +inf and σ is 0, never NaN.
fn swiglu_sigmoid(g: f32) -> f32 {
  return 1.0 / (1.0 + exp(-g));
}

@compute @workgroup_size(256)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * swiglu_fp.row + gid.x;
  if (i < swiglu_fp.n) {
    let g = swiglu_gate[i];
    swiglu_h[i] = g * swiglu_sigmoid(g) * swiglu_up[i];
  }
}

// dgate = dh·up·σ(g)·(1 + g·(1 − σ(g))), dup = dh·g·σ(g)
@compute @workgroup_size(256)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * swiglu_bp.row + gid.x;
  if (i < swiglu_bp.n) {
    let g = swiglu_bgate[i];
    let s = swiglu_sigmoid(g);
    let dh = swiglu_dh[i];
    swiglu_dgate[i] = dh * swiglu_bup[i] * s * (1.0 + g * (1.0 - s));
    swiglu_dup[i] = dh * g * s;
  }
}
