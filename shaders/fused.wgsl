// The two halves of a decoder layer that generation can do in one dispatch each, where nothing reads their
// intermediates afterwards (no backward) and no LoRA adapts their projections, for the few rows of a decode step
// (T <= FU_MAX):
//   qkv_forward_rows:      n = rmsnorm(x); q, k, v = n·Wqᵀ, n·Wkᵀ, n·Wvᵀ          (4 dispatches -> 1)
//   mlp_gate_forward_rows: n = rmsnorm(x); h = silu(n·Wgᵀ) ⊙ (n·Wuᵀ)              (4 dispatches -> 1)
// Each is matmul_forward_rows' walk (shaders/matmul.wgsl: 64 invocations split K, a workgroup owns FU_COLS output
// columns, partial sums meet in workgroup memory) with an RMSNorm prologue: the workgroup first reduces each row's
// sum of squares (every workgroup for itself: K·T reads, against the K·T·FU_COLS multiply-adds that follow), then
// normalizes x as it loads it, in rmsnorm_forward's order: weight * (x * rstd).

struct FusedParams {
  T: u32,
  K: u32,      // input width (hidden size)
  N0: u32,     // output columns of the first weight (q; gate)
  N1: u32,     // of the second (k; up)
  N2: u32,     // of the third (v; unused by mlp_gate_forward_rows)
  g0: u32,     // workgroups of the first weight: ceil(N0 / FU_COLS)
  g1: u32,     // of the second
  eps: f32,    // RMSNorm epsilon
}

const FU_ACC = 48u;  // accumulators per invocation: weights * FU_ROWS * FU_COLS <= FU_ACC
const FU_MAX = 24u;  // the most rows
override FU_ROWS: u32 = 1u;   // T rounded up (src/llama/ops/fused.ts), fixed so the row loops unroll
override FU_COLS: u32 = 16u;  // output columns per workgroup (src/llama/ops/fused.ts picks them)
var<workgroup> fu_part: array<f32, 3072>;  // [64 invocations][FU_ACC] partial sums
var<workgroup> fu_rstd: array<f32, 24>;    // [FU_MAX]

// Shared by both entry points: the input and the norm's weight.
@group(0) @binding(0) var<storage, read> fu_x: array<f32>;      // [T,K]
@group(0) @binding(1) var<storage, read> fu_norm: array<wt>;    // [K] frozen

// qkv_forward_rows
@group(0) @binding(2) var<storage, read> fuq_wq: array<wt>;          // [N0,K]
@group(0) @binding(3) var<storage, read> fuq_wk: array<wt>;          // [N1,K]
@group(0) @binding(4) var<storage, read> fuq_wv: array<wt>;          // [N2,K]
@group(0) @binding(5) var<storage, read_write> fuq_q: array<f32>;    // [T,N0]
@group(0) @binding(6) var<storage, read_write> fuq_k: array<f32>;    // [T,N1]
@group(0) @binding(7) var<storage, read_write> fuq_v: array<f32>;    // [T,N2]
@group(0) @binding(8) var<uniform> fuq_p: FusedParams;

// mlp_gate_forward_rows
@group(0) @binding(2) var<storage, read> fum_wg: array<wt>;          // [N0,K]
@group(0) @binding(3) var<storage, read> fum_wu: array<wt>;          // [N0,K]
@group(0) @binding(4) var<storage, read_write> fum_h: array<f32>;    // [T,N0]
@group(0) @binding(5) var<uniform> fum_p: FusedParams;

// rstd of rows 0..FU_ROWS-1 into fu_rstd (rows past T repeat row T-1). Call from uniform control flow.
fn fu_prologue(lid: u32, T: u32, K: u32, eps: f32) {
  var ss = array<f32, FU_MAX>();
  for (var k = lid; k < K; k += 64u) {
    for (var t = 0u; t < FU_ROWS; t++) {
      let v = fu_x[min(t, T - 1u) * K + k];
      ss[t] += v * v;
    }
  }
  for (var t = 0u; t < FU_ROWS; t++) { fu_part[lid * FU_ACC + t] = ss[t]; }
  workgroupBarrier();
  if (lid < FU_ROWS) {
    var s = 0.0;
    for (var l = 0u; l < 64u; l++) { s += fu_part[l * FU_ACC + lid]; }
    fu_rstd[lid] = inverseSqrt(s / f32(K) + eps);
  }
  workgroupBarrier();
}

// The normalized inputs at reduction index k, one per row.
fn fu_inputs(k: u32, T: u32, K: u32) -> array<f32, FU_MAX> {
  var xv = array<f32, FU_MAX>();
  let w = f32(fu_norm[k]);
  for (var t = 0u; t < FU_ROWS; t++) { xv[t] = w * (fu_x[min(t, T - 1u) * K + k] * fu_rstd[t]); }
  return xv;
}

// Grid: g0 + g1 + ceil(N2 / FU_COLS) workgroups (q's, then k's, then v's), folded into (x, y) when that exceeds one
// dimension's limit; the extras write nothing.
@compute @workgroup_size(64)
fn qkv_forward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let p = fuq_p;
  var local = wg.y * nwg.x + wg.x;
  var which = 0u;
  if (local >= p.g0) {
    local -= p.g0;
    which = 1u;
    if (local >= p.g1) {
      local -= p.g1;
      which = 2u;
    }
  }
  let N = select(select(p.N2, p.N1, which == 1u), p.N0, which == 0u);
  let n0 = local * FU_COLS;
  if (n0 >= N) { return; }  // the whole workgroup leaves together, so the barriers below stay uniform
  fu_prologue(lid, p.T, p.K, p.eps);
  var acc = array<f32, FU_ACC>();
  for (var k = lid; k < p.K; k += 64u) {
    let xv = fu_inputs(k, p.T, p.K);
    for (var c = 0u; c < FU_COLS; c++) {
      // Columns past N (the last workgroup) re-read row N-1; their sums are never written.
      let at = min(n0 + c, N - 1u) * p.K + k;
      var wv: f32;
      if (which == 0u) { wv = f32(fuq_wq[at]); } else if (which == 1u) { wv = f32(fuq_wk[at]); } else { wv = f32(fuq_wv[at]); }
      for (var t = 0u; t < FU_ROWS; t++) { acc[c * FU_ROWS + t] += xv[t] * wv; }
    }
  }
  for (var j = 0u; j < FU_COLS * FU_ROWS; j++) { fu_part[lid * FU_ACC + j] = acc[j]; }
  workgroupBarrier();
  if (lid >= FU_COLS * FU_ROWS) { return; }
  let c = lid / FU_ROWS;
  let t = lid % FU_ROWS;
  let n = n0 + c;
  if (n >= N || t >= p.T) { return; }
  var v = 0.0;
  for (var l = 0u; l < 64u; l++) { v += fu_part[l * FU_ACC + lid]; }
  let o = t * N + n;
  if (which == 0u) { fuq_q[o] = v; } else if (which == 1u) { fuq_k[o] = v; } else { fuq_v[o] = v; }
}

// Grid: ceil(N0 / FU_COLS) workgroups, folded as above. Gate's sums at [0, RC) of the accumulators, up's at [RC, 2 RC).
@compute @workgroup_size(64)
fn mlp_gate_forward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let p = fum_p;
  let n0 = (wg.y * nwg.x + wg.x) * FU_COLS;
  if (n0 >= p.N0) { return; }
  fu_prologue(lid, p.T, p.K, p.eps);
  let RC = FU_ROWS * FU_COLS;
  var acc = array<f32, FU_ACC>();
  for (var k = lid; k < p.K; k += 64u) {
    let xv = fu_inputs(k, p.T, p.K);
    for (var c = 0u; c < FU_COLS; c++) {
      let at = min(n0 + c, p.N0 - 1u) * p.K + k;
      let gv = f32(fum_wg[at]);
      let uv = f32(fum_wu[at]);
      for (var t = 0u; t < FU_ROWS; t++) {
        acc[c * FU_ROWS + t] += xv[t] * gv;
        acc[RC + c * FU_ROWS + t] += xv[t] * uv;
      }
    }
  }
  for (var j = 0u; j < 2u * RC; j++) { fu_part[lid * FU_ACC + j] = acc[j]; }
  workgroupBarrier();
  if (lid >= RC) { return; }
  let c = lid / FU_ROWS;
  let t = lid % FU_ROWS;
  let n = n0 + c;
  if (n >= p.N0 || t >= p.T) { return; }
  var g = 0.0;
  var u = 0.0;
  for (var l = 0u; l < 64u; l++) {
    g += fu_part[l * FU_ACC + lid];
    u += fu_part[l * FU_ACC + RC + lid];
  }
  // swiglu_forward's expression (shaders/swiglu.wgsl): σ(g) = 1/(1+e^(−g)), never NaN.
  fum_h[t * p.N0 + n] = g * (1.0 / (1.0 + exp(-g))) * u;
}
