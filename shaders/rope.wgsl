// Rotary position embeddings in Hugging Face's rotate-half layout, applied IN PLACE to q [T,H,D] and k [T,KV,D] in
// one dispatch (they share positions and frequencies); the backward rotates dq and dk back by the same angle. One
// invocation per (token, head of q then of k, pair).

struct RopeParams {
  T: u32,
  H: u32,    // heads of q
  KV: u32,   // heads of k
  D: u32,    // head dim, even
  row: u32,  // invocations per grid row (x workgroups * 256), for grids that spill into y
}

@group(0) @binding(0) var<storage, read_write> rope_q: array<f32>;  // [T,H,D] rotated in place
@group(0) @binding(1) var<storage, read_write> rope_k: array<f32>;  // [T,KV,D] rotated in place
@group(0) @binding(2) var<storage, read> rope_pos: array<u32>;      // [T] position of each packed token
@group(0) @binding(3) var<storage, read> rope_freq: array<f32>;     // [D/2] inv_freq (ref: rope_inv_freq)
@group(0) @binding(4) var<uniform> rope_p: RopeParams;

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
  let heads = rope_p.H + rope_p.KV;
  let idx = gid.y * rope_p.row + gid.x;
  if (idx >= rope_p.T * heads * half) {
    return;
  }
  let i = idx % half;
  let th = idx / half;  // t * (H + KV) + h
  let t = th / heads;
  let h = th % heads;
  let cs = rope_cos_sin(f32(rope_pos[t]) * rope_freq[i]);
  let s = sign * cs.y;
  if (h < rope_p.H) {
    let lo = (t * rope_p.H + h) * rope_p.D + i;
    let a = rope_q[lo];
    let b = rope_q[lo + half];
    rope_q[lo] = a * cs.x - b * s;
    rope_q[lo + half] = b * cs.x + a * s;
  } else {
    let lo = (t * rope_p.KV + h - rope_p.H) * rope_p.D + i;
    let a = rope_k[lo];
    let b = rope_k[lo + half];
    rope_k[lo] = a * cs.x - b * s;
    rope_k[lo + half] = b * cs.x + a * s;
  }
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(global_invocation_id) gid: vec3u) {
  rope_rotate(gid, 1.0);
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(global_invocation_id) gid: vec3u) {
  rope_rotate(gid, -1.0);
}
