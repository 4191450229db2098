// Elementwise sum, used for residual connections. Its backward needs no kernel: the output gradient flows to both
// inputs unchanged.

struct AddParams {
  n: u32,    // elements
  row: u32,  // elements per grid row (x workgroups * 256), for grids that spill into y
}

@group(0) @binding(0) var<storage, read> add_a: array<f32>;          // [n]
@group(0) @binding(1) var<storage, read> add_b: array<f32>;          // [n]
@group(0) @binding(2) var<storage, read_write> add_out: array<f32>;  // [n]
@group(0) @binding(3) var<uniform> add_p: AddParams;

@compute @workgroup_size(256)
fn add_forward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * add_p.row + gid.x;
  if (i < add_p.n) {
    add_out[i] = add_a[i] + add_b[i];
  }
}
