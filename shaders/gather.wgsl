// Row gather: after a prefill only each sequence's last token needs logits, so its hidden row is picked out
// before the LM head (a [T x V] logits buffer for a long prompt would be hundreds of MB for nothing).

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
