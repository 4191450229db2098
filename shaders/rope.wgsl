// Rotary position embeddings in Hugging Face's rotate-half layout, applied IN PLACE to q or k [T,nh,D] (nh = H or
// KV); the backward rotates the gradient back by the same angle. One invocation per (token, head, pair).

struct RopeParams {
  T: u32,
  nh: u32,   // heads in this tensor (H for q, KV for k)
  D: u32,    // head dim, even
  row: u32,  // invocations per grid row (x workgroups * 256), for grids that spill into y
}

@group(0) @binding(0) var<storage, read_write> rope_x: array<f32>;  // [T,nh,D] rotated in place
@group(0) @binding(1) var<storage, read> rope_pos: array<u32>;      // [T] position of each packed token
@group(0) @binding(2) var<storage, read> rope_freq: array<f32>;     // [D/2] inv_freq (ref: rope_inv_freq)
@group(0) @binding(3) var<uniform> rope_p: RopeParams;

// cos and sin of a = pos·inv_freq, the f32 product HF takes. WGSL bounds sin/cos error only on [−π, π], and
// positions reach thousands of radians, so reduce first (Cody–Waite: 2π = 6.28125 + 1.9353072e-3, where
// k·6.28125 is exact for k < 2^16 and the subtraction from a is exact).
fn rope_cos_sin(a: f32) -> vec2f {
  let k = round(a * 0.15915494309189535);
  let r = (a - k * 6.28125) - k * 1.9353071795864769e-3;
  return vec2f(cos(r), sin(r));
}

// sign +1 rotates by +angle (forward), −1 by −angle (backward: the transpose of a rotation is its inverse).
fn rope_rotate(gid: vec3u, sign: f32) {
  let half = rope_p.D / 2u;
  let idx = gid.y * rope_p.row + gid.x;
  if (idx >= rope_p.T * rope_p.nh * half) {
    return;
  }
  let i = idx % half;
  let th = idx / half;  // t * nh + h
  let t = th / rope_p.nh;
  let cs = rope_cos_sin(f32(rope_pos[t]) * rope_freq[i]);
  let s = sign * cs.y;
  let lo = th * rope_p.D + i;
  let a = rope_x[lo];
  let b = rope_x[lo + half];
  rope_x[lo] = a * cs.x - b * s;
  rope_x[lo + half] = b * cs.x + a * s;
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(global_invocation_id) gid: vec3u) {
  rope_rotate(gid, 1.0);
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(global_invocation_id) gid: vec3u) {
  rope_rotate(gid, -1.0);
}
