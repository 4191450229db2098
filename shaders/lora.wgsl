// The LoRA delta of one target projection, y += scale · dropout(x)·Aᵀ·Bᵀ, and its gradients. A [R,K] and B [N,R]
// live in one flat f32 buffer (all layers and targets; their gradients in another with the same layout), so they
// are addressed by element offsets in the params rather than by binding offsets. Dropout is a stateless hash of
// (seed, t*K + k), recomputed in the backward pass; lora_pcg must match src/ref/dropout.ts bit for bit.
//
// Every product here is a small matmul; all share one 32x32-output tile (16x16 invocations, 2x2 each) with the
// reduction staged 32 at a time through workgroup memory, whichever of its three sizes is the long one.

struct LoraParams {
  T: u32,
  K: u32,           // input width (x [T,K])
  N: u32,           // output width this delta covers
  R: u32,           // rank
  a_off: u32,       // element offset of A [R,K] in the flat parameter (and gradient) buffer
  b_off: u32,       // element offset of B [N,R]
  n_off: u32,       // first column of y / dy the delta covers
  ldy: u32,         // row stride of y / dy
  scale: f32,       // alpha / R
  keep_scale: f32,  // 1 / (1 - p)
  threshold: u32,   // keep iff hash >= threshold = ceil(p * 2^32); 0 turns dropout off
  seed: u32,
}

var<workgroup> lora_sa: array<f32, 1024>; // [32 reduction][32 rows]
var<workgroup> lora_sb: array<f32, 1024>; // [32 reduction][32 columns]

// lora_down_forward: u = dropout(x)·Aᵀ
@group(0) @binding(0) var<storage, read> lora_dfw_x: array<f32>;          // [T,K]
@group(0) @binding(1) var<storage, read> lora_dfw_ab: array<f32>;         // flat LoRA parameters
@group(0) @binding(2) var<storage, read_write> lora_dfw_u: array<f32>;    // [T,R]
@group(0) @binding(3) var<uniform> lora_dfw_p: LoraParams;
// The up projection's forward, y += scale · u·Bᵀ, is added in the base matmul's epilogue (shaders/matmul.wgsl).
// lora_up_backward: dB += scale · dyᵀ·u, du = scale · dy·B
@group(0) @binding(0) var<storage, read> lora_ubw_dy: array<f32>;         // [T,ldy]
@group(0) @binding(1) var<storage, read> lora_ubw_u: array<f32>;          // [T,R]
@group(0) @binding(2) var<storage, read> lora_ubw_ab: array<f32>;         // flat LoRA parameters
@group(0) @binding(3) var<storage, read_write> lora_ubw_g: array<f32>;    // flat LoRA gradients
@group(0) @binding(4) var<storage, read_write> lora_ubw_du: array<f32>;   // [T,R]
@group(0) @binding(5) var<uniform> lora_ubw_p: LoraParams;
// lora_down_backward: dA += duᵀ·dropout(x), dx += (du·A) ⊙ mask / (1 - p)
@group(0) @binding(0) var<storage, read> lora_dbw_du: array<f32>;         // [T,R]
@group(0) @binding(1) var<storage, read> lora_dbw_x: array<f32>;          // [T,K]
@group(0) @binding(2) var<storage, read> lora_dbw_ab: array<f32>;         // flat LoRA parameters
@group(0) @binding(3) var<storage, read_write> lora_dbw_g: array<f32>;    // flat LoRA gradients
@group(0) @binding(4) var<storage, read_write> lora_dbw_dx: array<f32>;   // [T,K]
@group(0) @binding(5) var<uniform> lora_dbw_p: LoraParams;

// PCG-RXS-M-XS (u32 arithmetic wraps, as Math.imul and >>> 0 do in the reference).
fn lora_pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// The dropout multiplier of x[t,k]: 0 (dropped) or 1/(1-p) (kept); dropout_hash in src/ref/dropout.ts.
fn lora_mask(p: LoraParams, t: u32, k: u32) -> f32 {
  if (p.threshold == 0u) { return 1.0; }
  let h = lora_pcg(lora_pcg(t * p.K + k) + p.seed * 0x9e3779b9u);
  return select(0.0, p.keep_scale, h >= p.threshold);
}

// Staging slot e (0..1023) of a 32x32 tile as (row or column, reduction index). The index that is contiguous in
// memory varies fastest across neighbouring invocations so that their loads coalesce.
fn lora_slot(e: u32, reduction_contiguous: bool) -> vec2u {
  if (reduction_contiguous) { return vec2u(e / 32u, e % 32u); }
  return vec2u(e % 32u, e / 32u);
}

// One staged step: acc[2i + j] += Σ_kk sa[kk][ty + 16i] · sb[kk][tx + 16j].
fn lora_fma(acc: ptr<function, array<f32, 4>>, tx: u32, ty: u32) {
  for (var kk = 0u; kk < 32u; kk++) {
    let a0 = lora_sa[kk * 32u + ty];
    let a1 = lora_sa[kk * 32u + ty + 16u];
    let b0 = lora_sb[kk * 32u + tx];
    let b1 = lora_sb[kk * 32u + tx + 16u];
    (*acc)[0] += a0 * b0;
    (*acc)[1] += a0 * b1;
    (*acc)[2] += a1 * b0;
    (*acc)[3] += a1 * b1;
  }
}

// Tile (column, row) of linear workgroup `id` in a grid `cols` tiles wide.
fn lora_tile(id: u32, cols: u32) -> vec2u {
  return vec2u(id % cols, id / cols) * 32u;
}

fn lora_tiles(n: u32) -> u32 {
  return (n + 31u) / 32u;
}

// u [T,R] = dropout(x)·Aᵀ: rows t, columns r, reduction over K. Grid: ceil(R/32) * ceil(T/32) workgroups.
@compute @workgroup_size(256)
fn lora_down_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let p = lora_dfw_p;
  let id = wg.y * nwg.x + wg.x;
  if (id >= lora_tiles(p.R) * lora_tiles(p.T)) { return; }
  let o = lora_tile(id, lora_tiles(p.R));
  var acc = array<f32, 4>();
  for (var k0 = 0u; k0 < p.K; k0 += 32u) {
    for (var i = 0u; i < 4u; i++) {
      let s = lora_slot(lid + 256u * i, true);
      let t = o.y + s.x;
      let r = o.x + s.x;
      let k = k0 + s.y;
      var a = 0.0;
      if (t < p.T && k < p.K) { a = lora_dfw_x[t * p.K + k] * lora_mask(p, t, k); }
      lora_sa[s.y * 32u + s.x] = a;
      var b = 0.0;
      if (r < p.R && k < p.K) { b = lora_dfw_ab[p.a_off + r * p.K + k]; }
      lora_sb[s.y * 32u + s.x] = b;
    }
    workgroupBarrier();
    lora_fma(&acc, lid % 16u, lid / 16u);
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = o.y + lid / 16u + 16u * (i / 2u);
    let r = o.x + lid % 16u + 16u * (i % 2u);
    if (t < p.T && r < p.R) { lora_dfw_u[t * p.R + r] = acc[i]; }
  }
}

// Two products in one grid (the first tiles do dB, the rest du), sharing one loop so that the shader keeps two
// barriers (a software Vulkan compiles each barrier-split loop separately, and slowly):
//   dB [N,R] += scale · dyᵀ·u  (rows n, columns r, reduction over T)
//   du [T,R]  = scale · dy·B   (rows t, columns r, reduction over N)
// Grid: ceil(R/32) * (ceil(N/32) + ceil(T/32)) workgroups.
@compute @workgroup_size(256)
fn lora_up_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let p = lora_ubw_p;
  let cols = lora_tiles(p.R);
  let id = wg.y * nwg.x + wg.x;
  let dB_tiles = cols * lora_tiles(p.N);
  if (id >= dB_tiles + cols * lora_tiles(p.T)) { return; }
  let is_dB = id < dB_tiles;
  let o = lora_tile(select(id - dB_tiles, id, is_dB), cols);
  var acc = array<f32, 4>();
  for (var j0 = 0u; j0 < select(p.N, p.T, is_dB); j0 += 32u) {
    for (var i = 0u; i < 4u; i++) {
      // u and B are contiguous along their column r; dy along n, which is dB's row and du's reduction.
      let sb = lora_slot(lid + 256u * i, false);
      let sa = select(lora_slot(lid + 256u * i, true), sb, is_dB);
      let r = o.x + sb.x;
      let j = j0 + sb.y;
      var a = 0.0;
      var b = 0.0;
      if (is_dB) {
        let n = o.y + sa.x;
        if (n < p.N && j < p.T) { a = lora_ubw_dy[j * p.ldy + p.n_off + n]; }
        if (r < p.R && j < p.T) { b = lora_ubw_u[j * p.R + r]; }
      } else {
        let t = o.y + sa.x;
        let n = j0 + sa.y;
        if (t < p.T && n < p.N) { a = lora_ubw_dy[t * p.ldy + p.n_off + n]; }
        if (r < p.R && j < p.N) { b = lora_ubw_ab[p.b_off + j * p.R + r]; }
      }
      lora_sa[sa.y * 32u + sa.x] = a;
      lora_sb[sb.y * 32u + sb.x] = b;
    }
    workgroupBarrier();
    lora_fma(&acc, lid % 16u, lid / 16u);
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = o.y + lid / 16u + 16u * (i / 2u);
    let r = o.x + lid % 16u + 16u * (i % 2u);
    if (is_dB) {
      if (row < p.N && r < p.R) { lora_ubw_g[p.b_off + row * p.R + r] += p.scale * acc[i]; }
    } else {
      if (row < p.T && r < p.R) { lora_ubw_du[row * p.R + r] = p.scale * acc[i]; }
    }
  }
}

// Two products in one grid (the first tiles do dA, the rest dx), one loop as in lora_up_backward:
//   dA [R,K] += duᵀ·dropout(x)               (rows r, columns k, reduction over T)
//   dx [T,K] += (du·A) ⊙ mask / (1 - p)      (rows t, columns k, reduction over R)
// Grid: ceil(K/32) * (ceil(R/32) + ceil(T/32)) workgroups.
@compute @workgroup_size(256)
fn lora_down_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let p = lora_dbw_p;
  let cols = lora_tiles(p.K);
  let id = wg.y * nwg.x + wg.x;
  let dA_tiles = cols * lora_tiles(p.R);
  if (id >= dA_tiles + cols * lora_tiles(p.T)) { return; }
  let is_dA = id < dA_tiles;
  let o = lora_tile(select(id - dA_tiles, id, is_dA), cols);
  var acc = array<f32, 4>();
  for (var j0 = 0u; j0 < select(p.R, p.T, is_dA); j0 += 32u) {
    for (var i = 0u; i < 4u; i++) {
      // x and A are contiguous along their column k; du along r, which is dA's row and dx's reduction.
      let sb = lora_slot(lid + 256u * i, false);
      let sa = select(lora_slot(lid + 256u * i, true), sb, is_dA);
      let k = o.x + sb.x;
      let j = j0 + sb.y;
      var a = 0.0;
      var b = 0.0;
      if (is_dA) {
        let r = o.y + sa.x;
        if (r < p.R && j < p.T) { a = lora_dbw_du[j * p.R + r]; }
        if (k < p.K && j < p.T) { b = lora_dbw_x[j * p.K + k] * lora_mask(p, j, k); }
      } else {
        let t = o.y + sa.x;
        let r = j0 + sa.y;
        if (t < p.T && r < p.R) { a = lora_dbw_du[t * p.R + r]; }
        if (k < p.K && j < p.R) { b = lora_dbw_ab[p.a_off + j * p.K + k]; }
      }
      lora_sa[sa.y * 32u + sa.x] = a;
      lora_sb[sb.y * 32u + sb.x] = b;
    }
    workgroupBarrier();
    lora_fma(&acc, lid % 16u, lid / 16u);
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = o.y + lid / 16u + 16u * (i / 2u);
    let k = o.x + lid % 16u + 16u * (i % 2u);
    if (is_dA) {
      if (row < p.R && k < p.K) { lora_dbw_g[p.a_off + row * p.K + k] += acc[i]; }
    } else {
      if (row < p.T && k < p.K) { lora_dbw_dx[row * p.K + k] += acc[i] * lora_mask(p, row, k); }
    }
  }
}
