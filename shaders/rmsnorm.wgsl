// RMSNorm with a frozen weight (HF LlamaRMSNorm; Qwen2 is identical): one workgroup per token row, the row's sum
// reduced in workgroup memory. The forward saves rstd [T] so the backward needs no second pass over x².

const RMSNORM_WG: u32 = 256u;

struct RmsnormForwardParams {
  T: u32,
  C: u32,
  eps: f32,
  gx: u32,  // workgroups along x: rows past the per-dimension limit spill into y (row = wid.y * gx + wid.x)
}

struct RmsnormBackwardParams {
  T: u32,
  C: u32,
  gx: u32,
  accumulate: u32,  // 1: dx += result (the residual stream's gradient is a sum), 0: dx = result
}

// forward
@group(0) @binding(0) var<storage, read> rmsnorm_x: array<f32>;             // [T,C]
@group(0) @binding(1) var<storage, read> rmsnorm_w: array<wt>;              // [C] frozen
@group(0) @binding(2) var<storage, read_write> rmsnorm_y: array<f32>;       // [T,C]
@group(0) @binding(3) var<storage, read_write> rmsnorm_rstd: array<f32>;    // [T]
@group(0) @binding(4) var<uniform> rmsnorm_fp: RmsnormForwardParams;

// backward (WGSL lets entry points of one module reuse binding numbers for different variables)
@group(0) @binding(0) var<storage, read> rmsnorm_dy: array<f32>;            // [T,C]
@group(0) @binding(1) var<storage, read> rmsnorm_bx: array<f32>;            // [T,C] the forward's input
@group(0) @binding(2) var<storage, read> rmsnorm_bw: array<wt>;             // [C] frozen
@group(0) @binding(3) var<storage, read> rmsnorm_brstd: array<f32>;         // [T] from the forward
@group(0) @binding(4) var<storage, read_write> rmsnorm_dx: array<f32>;      // [T,C]
@group(0) @binding(5) var<uniform> rmsnorm_bp: RmsnormBackwardParams;

var<workgroup> rmsnorm_partial: array<f32, RMSNORM_WG>;

// Sum of one value per invocation; every invocation gets the total. Call from uniform control flow.
fn rmsnorm_sum(lid: u32, v: f32) -> f32 {
  rmsnorm_partial[lid] = v;
  workgroupBarrier();
  for (var s = RMSNORM_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      rmsnorm_partial[lid] += rmsnorm_partial[lid + s];
    }
    workgroupBarrier();
  }
  return rmsnorm_partial[0];
}

@compute @workgroup_size(256)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * rmsnorm_fp.gx + wid.x;
  if (row >= rmsnorm_fp.T) {
    return; // the whole workgroup leaves together, so the barriers below stay uniform
  }
  let C = rmsnorm_fp.C;
  let base = row * C;
  var ss = 0.0;
  for (var c = lid; c < C; c += RMSNORM_WG) {
    let v = rmsnorm_x[base + c];
    ss += v * v;
  }
  let r = inverseSqrt(rmsnorm_sum(lid, ss) / f32(C) + rmsnorm_fp.eps);
  if (lid == 0u) {
    rmsnorm_rstd[row] = r;
  }
  for (var c = lid; c < C; c += RMSNORM_WG) {
    rmsnorm_y[base + c] = f32(rmsnorm_w[c]) * (rmsnorm_x[base + c] * r); // HF's order: weight * (x * rstd)
  }
}

// dx_c = r·w_c·dy_c − r³/C · x_c · Σ_i dy_i·w_i·x_i
@compute @workgroup_size(256)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * rmsnorm_bp.gx + wid.x;
  if (row >= rmsnorm_bp.T) {
    return;
  }
  let C = rmsnorm_bp.C;
  let base = row * C;
  var dot = 0.0;
  for (var c = lid; c < C; c += RMSNORM_WG) {
    dot += rmsnorm_dy[base + c] * f32(rmsnorm_bw[c]) * rmsnorm_bx[base + c];
  }
  let r = rmsnorm_brstd[row];
  let k = r * r * rmsnorm_sum(lid, dot) / f32(C);
  for (var c = lid; c < C; c += RMSNORM_WG) {
    var g = r * (f32(rmsnorm_bw[c]) * rmsnorm_dy[base + c] - rmsnorm_bx[base + c] * k);
    if (rmsnorm_bp.accumulate != 0u) {
      g += rmsnorm_dx[base + c];
    }
    rmsnorm_dx[base + c] = g;
  }
}
