// Token embedding lookup from the frozen table, one row block at a time: tables over maxStorageBufferBindingSize
// are split into blocks of rows, one GPUBuffer each, and each dispatch writes only the tokens whose id it holds.

struct EmbeddingParams {
  T: u32,
  C: u32,
  rowStart: u32,  // first vocabulary row held by this block
  rows: u32,      // rows in this block
  row: u32,       // invocations per grid row (x workgroups * 256), for grids that spill into y
  scale: f32,     // every row times this (Gemma's √C; 1 elsewhere)
}

@group(0) @binding(0) var<storage, read> embedding_ids: array<u32>;         // [T]
@group(0) @binding(1) var<storage, read> embedding_table: array<wt>;        // [rows,C] frozen, vocab rows rowStart..
@group(0) @binding(2) var<storage, read_write> embedding_out: array<f32>;   // [T,C]
@group(0) @binding(3) var<uniform> embedding_p: EmbeddingParams;

@compute @workgroup_size(256)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u) {
  let idx = gid.y * embedding_p.row + gid.x;
  if (idx >= embedding_p.T * embedding_p.C) {
    return;
  }
  let t = idx / embedding_p.C;
  let c = idx % embedding_p.C;
  // ids below rowStart wrap to large values, so one comparison covers both ends of the block
  let r = embedding_ids[t] - embedding_p.rowStart;
  if (r >= embedding_p.rows) {
    return;
  }
  let j = r * embedding_p.C + c;
  if (j < arrayLength(&embedding_table)) { // a block shorter than `rows` says must not be read past its end
    embedding_out[idx] = f32(embedding_table[j]) * embedding_p.scale;
  }
}
