// Row gather: after a prefill only each sequence's last token needs logits, so its hidden row is picked out
// before the LM head (a [T x V] logits buffer for a long prompt would be hundreds of MB for nothing). In training
// the loss head runs only on the rows that carry loss the same way, and gather_rows_backward puts their gradient
// back in place (zero on every other row).

struct GatherParams {
  n: u32,    // rows to gather (B)
  C: u32,    // row width
  row: u32,  // elements per grid row, for grids that spill into y
}

@group(0) @binding(0) var<storage, read> gather_x: array<f32>;         // [T,C]
@group(0) @binding(1) var<storage, read> gather_idx: array<u32>;       // [B] row of x for each output row
@group(0) @binding(2) var<storage, read_write> gather_out: array<f32>;  // [B,C]
@group(0) @binding(3) var<uniform> gather_p: GatherParams;

@compute @workgroup_size(256)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * gather_p.row + gid.x;
  if (i >= gather_p.n * gather_p.C) {
    return;
  }
  let r = i / gather_p.C;
  let c = i % gather_p.C;
  gather_out[i] = gather_x[gather_idx[r] * gather_p.C + c];
}

// ---- gather_rows_backward: dx [T,C] = dout's row inv[t] where row t was gathered, else 0; one invocation per (t, c) ----
// The inverse map holds each row at most once (ops/gather.ts builds it from unique indices), so this is the whole
// scatter-add and it overwrites dx, with no clear before it.

const GATHER_NONE: u32 = 0xffffffffu;

struct GatherBackwardParams {
  T: u32,    // rows of dx
  C: u32,
  row: u32,
}

@group(0) @binding(0) var<storage, read> gather_bwd_dout: array<f32>;       // [B,C]
@group(0) @binding(1) var<storage, read> gather_bwd_inv: array<u32>;        // [T] row of dout for row t, or GATHER_NONE
@group(0) @binding(2) var<storage, read_write> gather_bwd_dx: array<f32>;   // [T,C]
@group(0) @binding(3) var<uniform> gather_bwd_p: GatherBackwardParams;

@compute @workgroup_size(256)
fn gather_rows_backward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * gather_bwd_p.row + gid.x;
  if (i >= gather_bwd_p.T * gather_bwd_p.C) {
    return;
  }
  let r = gather_bwd_inv[i / gather_bwd_p.C];
  if (r == GATHER_NONE) {
    gather_bwd_dx[i] = 0.0;
  } else {
    gather_bwd_dx[i] = gather_bwd_dout[r * gather_bwd_p.C + i % gather_bwd_p.C];
  }
}
