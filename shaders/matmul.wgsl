// The frozen base projections y = x·Wᵀ + b and their input gradient dx = dy·W: most of a training step's FLOPs,
// so both are register-tiled (64x64 outputs per workgroup, 4x4 per invocation, K staged through workgroup memory).
// Decoding's few rows, and a short training sequence's, take matmul_forward_rows and matmul_backward_rows (at the
// end) instead: the tile would pad them to 64.
//
// W is one ROW BLOCK [N,K] of a possibly larger weight (weights over maxStorageBufferBindingSize are split into
// row blocks, each its own buffer): the forward writes columns n_off..n_off+N of y (row stride ldy), the backward
// reads those columns of dy, and the engine sums the blocks' dx with accumulate = 1.

struct MatmulParams {
  T: u32,           // rows of x / y
  K: u32,           // input width
  N: u32,           // rows of this weight block (output columns it covers)
  n_off: u32,       // first column of y / dy this block covers
  ldy: u32,         // row stride of y / dy (the full output width)
  accumulate: u32,  // 1: add into the output, 0: overwrite it
  addend: u32,      // forward only: 0 none, 1 adds bias[n], 2 adds a residual r[t, n_off + n] (laid out as y)
  lora_r: u32,      // forward only: rank of the LoRA delta added in the epilogue, 0 for none
  lora_b_off: u32,  // element offset of B [ldy,R] (the whole projection's rows) in the flat LoRA parameters
  lora_scale: f32,  // alpha / R
}

// Tile sizes: BM rows x BN columns of output per workgroup, the reduction staged BK at a time. The 16x16
// invocations each own a 4x4 block, so the shared tiles are read as vec4 (one load, four FMAs).
const MM_BK = 16u;

// Shared tiles, vec4-packed along the output dimension: sa[kk*16 + i] = A rows 4i..4i+3 at reduction index kk.
var<workgroup> mm_sa: array<vec4<f32>, 256>; // [BK][BM/4]
var<workgroup> mm_sb: array<vec4<f32>, 256>; // [BK][BN/4]

// matmul_forward: x [T,K], w [N,K] (row block), add: bias [N] or residual [T,ldy] (any f32 buffer when addend = 0),
// y [T,ldy]. The residual folds a decoder layer's residual connection into the projection: one dispatch, not two.
@group(0) @binding(0) var<storage, read> mm_x: array<f32>;          // [T,K]
@group(0) @binding(1) var<storage, read> mm_w: array<wt>;           // [N,K]
@group(0) @binding(2) var<storage, read> mm_add: array<f32>;        // [N] bias or [T,ldy] residual
@group(0) @binding(3) var<storage, read_write> mm_y: array<f32>;    // [T,ldy], columns n_off..n_off+N
// The LoRA delta scale · u·Bᵀ rides in the epilogue (lora_up_forward's job, one dispatch fewer per adapted
// projection): u [T,R] from lora_down_forward, B in the flat parameters (any f32 buffers when lora_r = 0).
@group(0) @binding(4) var<storage, read> mm_lu: array<f32>;         // [T,R]
@group(0) @binding(5) var<storage, read> mm_lab: array<f32>;        // flat LoRA parameters
@group(0) @binding(6) var<uniform> mm_p: MatmulParams;

// matmul_backward: dy [T,ldy], w [N,K] (row block), dx [T,K]. Same module, so its own binding names.
@group(0) @binding(0) var<storage, read> mmb_dy: array<f32>;        // [T,ldy], columns n_off..n_off+N
@group(0) @binding(1) var<storage, read> mmb_w: array<wt>;          // [N,K]
@group(0) @binding(2) var<storage, read_write> mmb_dx: array<f32>;  // [T,K]
@group(0) @binding(3) var<uniform> mmb_p: MatmulParams;

// One BK step of the 4x4 register block: acc[i] holds output row 4*ty+i, columns 4*tx..4*tx+3.
fn matmul_fma(acc: ptr<function, array<vec4<f32>, 4>>, tx: u32, ty: u32) {
  for (var kk = 0u; kk < MM_BK; kk++) {
    let a = mm_sa[kk * 16u + ty];
    let b = mm_sb[kk * 16u + tx];
    (*acc)[0] += a.x * b;
    (*acc)[1] += a.y * b;
    (*acc)[2] += a.z * b;
    (*acc)[3] += a.w * b;
  }
}

// Forward operands, zero outside the matrix. Each invocation stages 4 values strided along the output
// dimension (one vec4 slot) at one reduction index kk = lid % 16, so 16 neighbours read 16 consecutive k.
fn matmul_x4(m: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k < mm_p.K) {
    for (var i = 0u; i < 4u; i++) {
      if (m + i < mm_p.T) { v[i] = mm_x[(m + i) * mm_p.K + k]; }
    }
  }
  return v;
}

fn matmul_w4(n: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k < mm_p.K) {
    for (var i = 0u; i < 4u; i++) {
      if (n + i < mm_p.N) { v[i] = f32(mm_w[(n + i) * mm_p.K + k]); }
    }
  }
  return v;
}

// What the epilogue adds to output (t, n) of this block, stored at y[o]: the bias or the residual, and the LoRA delta.
fn matmul_addend(t: u32, n: u32, o: u32) -> f32 {
  var v = 0.0;
  if (mm_p.addend == 1u) { v = mm_add[n]; }
  if (mm_p.addend == 2u) { v = mm_add[o]; }
  let R = mm_p.lora_r;
  if (R == 0u) { return v; }
  var d = 0.0;
  let b = mm_p.lora_b_off + (mm_p.n_off + n) * R;
  for (var r = 0u; r < R; r++) { d += mm_lu[t * R + r] * mm_lab[b + r]; }
  return v + mm_p.lora_scale * d;
}

// y[:, n_off:n_off+N] (=|+=) x·wᵀ (+ bias | + residual) (+ LoRA). Grid: (ceil(N/64), ceil(T/64)).
@compute @workgroup_size(16, 16)
fn matmul_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  // Staging slot of this invocation: reduction index kk, vec4 slot q (4 consecutive rows / columns).
  let kk = lid % 16u;
  let q = lid / 16u;
  var acc = array<vec4<f32>, 4>();
  // The next tile is fetched into registers before the current one is multiplied, hiding global latency.
  var pa = matmul_x4(m0 + 4u * q, kk);
  var pb = matmul_w4(n0 + 4u * q, kk);
  for (var k0 = 0u; k0 < mm_p.K; k0 += MM_BK) {
    mm_sa[kk * 16u + q] = pa;
    mm_sb[kk * 16u + q] = pb;
    workgroupBarrier();
    if (k0 + MM_BK < mm_p.K) {
      pa = matmul_x4(m0 + 4u * q, k0 + MM_BK + kk);
      pb = matmul_w4(n0 + 4u * q, k0 + MM_BK + kk);
    }
    matmul_fma(&acc, tx, ty);
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = m0 + 4u * ty + i;
    if (t >= mm_p.T) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * tx + j;
      if (n >= mm_p.N) { break; }
      var v = acc[i][j];
      let o = t * mm_p.ldy + mm_p.n_off + n;
      v += matmul_addend(t, n, o);
      if (mm_p.accumulate != 0u) { v += mm_y[o]; }
      mm_y[o] = v;
    }
  }
}

// Backward operands: dy is read like x (reduction index n contiguous); w [N,K] is now indexed (n, k) with the
// output index k contiguous, so each invocation stages 4 consecutive k of one row n.
fn matmul_dy4(m: u32, n: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (n < mmb_p.N) {
    for (var i = 0u; i < 4u; i++) {
      if (m + i < mmb_p.T) { v[i] = mmb_dy[(m + i) * mmb_p.ldy + mmb_p.n_off + n]; }
    }
  }
  return v;
}

fn matmul_wt4(n: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (n < mmb_p.N) {
    for (var i = 0u; i < 4u; i++) {
      if (k + i < mmb_p.K) { v[i] = f32(mmb_w[n * mmb_p.K + k + i]); }
    }
  }
  return v;
}

// dx (=|+=) dy[:, n_off:n_off+N]·w for one row block w [N,K]. Grid: (ceil(K/64), ceil(T/64)).
@compute @workgroup_size(16, 16)
fn matmul_backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = wg.y * 64u;
  let k0 = wg.x * 64u;
  // dy slot: reduction index lid % 16, rows 4*(lid/16)..; w slot: reduction index lid / 16, columns 4*(lid%16)...
  let da = lid % 16u;
  let qa = lid / 16u;
  let db = lid / 16u;
  let qb = lid % 16u;
  var acc = array<vec4<f32>, 4>();
  var pa = matmul_dy4(m0 + 4u * qa, da);
  var pb = matmul_wt4(db, k0 + 4u * qb);
  for (var n0 = 0u; n0 < mmb_p.N; n0 += MM_BK) {
    mm_sa[da * 16u + qa] = pa;
    mm_sb[db * 16u + qb] = pb;
    workgroupBarrier();
    if (n0 + MM_BK < mmb_p.N) {
      pa = matmul_dy4(m0 + 4u * qa, n0 + MM_BK + da);
      pb = matmul_wt4(n0 + MM_BK + db, k0 + 4u * qb);
    }
    matmul_fma(&acc, tx, ty);
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = m0 + 4u * ty + i;
    if (t >= mmb_p.T) { break; }
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + 4u * tx + j;
      if (k >= mmb_p.K) { break; }
      let o = t * mmb_p.K + k;
      var v = acc[i][j];
      if (mmb_p.accumulate != 0u) { v += mmb_dx[o]; }
      mmb_dx[o] = v;
    }
  }
}

// matmul_forward_rows: the same contract and bindings as matmul_forward, for T <= 24 rows (decoding: one row per
// sequence), where the 64x64 tile computes 64 rows for each real one. A workgroup owns MMR_COLS output columns; its
// 64 invocations split the reduction (invocation l takes k = l, l+64, ...), so neighbours read consecutive k of w and
// x, each x value loaded once serves every column, and the T x MMR_COLS partial sums meet in workgroup memory once.
// Measured on Mesa lavapipe (2 cores), f16 weights, K 1024 x N 16384, ms per call, tile -> this kernel:
//   T 1: 1517 -> 48, T 2: 1517 -> 56, T 4: 1840 -> 72, T 8: 1578 -> 153, T 16: 1785 -> 490, T 32: 1716 -> 2007;
// K 576 x N 1536: T 32: 81 (tile) vs 82. Above 16 rows T rounds to a multiple of 8 and MMR_ACC = 48 keeps two
// columns per workgroup at 24 (later run, K 1024 x N 16384): T 20 1608 -> 661, T 24 2205 -> 668, T 32 (one column)
// 1956 -> 1686; K 2048 x N 8192, T 24: 1796 -> 802; K 576 x N 1536, T 24: 101 -> 65. So src/llama/ops/matmul.ts
// takes this kernel up to T = 24, which covers a short chat turn's training step.
// (One invocation per column walking its own row of w was slower from T = 2 on: 75 / 128 / 268 ms at T 2 / 4 / 8;
// vec4 loads of w and x here gained nothing measurable, within the shared machine's noise.)
// At T = 1 over a whole vocabulary head (row blocks as the engine splits them): 151,936 x 1,024 14.3 s -> 0.42 s,
// 262,144 x 640 16.6 s -> 0.51 s, 128,256 x 2,048 31.7 s -> 0.73 s. One decode step for one sequence: SmolLM2-135M
// shape (576 wide, 30 layers, 49,152 vocab) 16.7 s -> 0.95 s; two-layer Qwen3-0.6B widths 20.3 s -> 1.03 s.
const MMR_ACC = 48u;  // accumulators per invocation: MMR_ROWS * MMR_COLS <= MMR_ACC
const MMR_MAX = 24u;  // the most rows
override MMR_ROWS: u32 = 1u;   // T rounded up (fewer pipelines; src/llama/ops/matmul.ts), fixed so the row loops unroll
override MMR_COLS: u32 = 32u;  // output columns per workgroup (src/llama/ops/matmul.ts picks them)
var<workgroup> mmr_part: array<f32, 3072>; // [64 invocations][MMR_ACC] partial sums

// y[:, n_off:n_off+N] (=|+=) x·wᵀ (+ bias | + residual) (+ LoRA) for T <= MMR_ROWS. Grid: ceil(N / MMR_COLS) workgroups, folded into
// (x, y) when that exceeds one dimension's limit (a 262k-row block at T = 16 is 131k); the extras write nothing.
@compute @workgroup_size(64)
fn matmul_forward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let n0 = (wg.y * nwg.x + wg.x) * MMR_COLS;
  let K = mm_p.K;
  var acc = array<f32, MMR_ACC>();
  for (var k = lid; k < K; k += 64u) {
    var xv = array<f32, MMR_MAX>();
    // Rows T..MMR_ROWS-1 repeat row T-1 (at most doubling the work of T rows); their sums are never written.
    for (var t = 0u; t < MMR_ROWS; t++) { xv[t] = mm_x[min(t, mm_p.T - 1u) * K + k]; }
    for (var c = 0u; c < MMR_COLS; c++) {
      // Columns past N (the last workgroup) re-read row N-1 rather than branch; their sums are never written.
      let wv = f32(mm_w[min(n0 + c, mm_p.N - 1u) * K + k]);
      for (var t = 0u; t < MMR_ROWS; t++) { acc[c * MMR_ROWS + t] += xv[t] * wv; }
    }
  }
  for (var j = 0u; j < MMR_COLS * MMR_ROWS; j++) { mmr_part[lid * MMR_ACC + j] = acc[j]; }
  workgroupBarrier();
  // Invocation j < MMR_COLS * MMR_ROWS sums output (t, n0 + c) over the 64 partials.
  if (lid >= MMR_COLS * MMR_ROWS) { return; }
  let c = lid / MMR_ROWS;
  let t = lid % MMR_ROWS;
  let n = n0 + c;
  if (n >= mm_p.N || t >= mm_p.T) { return; }
  var v = 0.0;
  for (var l = 0u; l < 64u; l++) { v += mmr_part[l * MMR_ACC + lid]; }
  let o = t * mm_p.ldy + mm_p.n_off + n;
  v += matmul_addend(t, n, o);
  if (mm_p.accumulate != 0u) { v += mm_y[o]; }
  mm_y[o] = v;
}

// matmul_backward_rows: the same contract and bindings as matmul_backward, for the few rows of a short training
// sequence (a chat turn of ~20 tokens) whose dx = dy·W over a vocabulary head of 128k-262k rows the 64x64 tile would
// compute as 64 rows. Invocation l of a workgroup owns output column k0 + l (neighbours read consecutive k of one row
// of w) and MMBR_ROWS accumulators; it walks every n of the block, and the dy values of one n (the same for the whole
// workgroup) are staged through workgroup memory MMBR_CHUNK n at a time. No split over n: the K / 64 workgroups
// (10-32 at the widths we load) already fill lavapipe's cores, and dx needs no cross-workgroup reduction.
// Measured against the tile on lavapipe at K 1024 x N 16384: T 1 2342 -> 290 ms, T 20 1239 -> 558, T 32 1160 -> 978
// (src/llama/ops/matmul.ts, MATMUL_BACKWARD_ROWS_MAX, has the rest of the table and the bound it sets).
const MMBR_MAX = 32u;  // the most rows
const MMBR_CHUNK = 64u; // n staged per barrier: one dy value per invocation per row
override MMBR_ROWS: u32 = 8u; // T rounded up (src/llama/ops/matmul.ts), fixed so the row loops unroll
var<workgroup> mmbr_dy: array<f32, 2048>; // [MMBR_CHUNK][MMBR_MAX]: dy[t, n0 + j] at j * MMBR_MAX + t

// dx (=|+=) dy[:, n_off:n_off+N]·w for T <= MMBR_ROWS. Grid: ceil(K / 64) workgroups.
@compute @workgroup_size(64)
fn matmul_backward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let K = mmb_p.K;
  let N = mmb_p.N;
  let k = wg.x * 64u + lid;
  // Columns past K (the last workgroup) read column K-1 rather than branch around the barriers; never written.
  let kr = min(k, K - 1u);
  var acc = array<f32, MMBR_MAX>();
  for (var n0 = 0u; n0 < N; n0 += MMBR_CHUNK) {
    // Rows T..MMBR_ROWS-1 and n past N stage zeros: their products add nothing.
    let n = n0 + lid;
    for (var t = 0u; t < MMBR_ROWS; t++) {
      var v = 0.0;
      if (n < N && t < mmb_p.T) { v = mmb_dy[t * mmb_p.ldy + mmb_p.n_off + n]; }
      mmbr_dy[lid * MMBR_MAX + t] = v;
    }
    workgroupBarrier();
    let m = min(MMBR_CHUNK, N - n0);
    for (var j = 0u; j < m; j++) {
      let wv = f32(mmb_w[(n0 + j) * K + kr]);
      for (var t = 0u; t < MMBR_ROWS; t++) { acc[t] += mmbr_dy[j * MMBR_MAX + t] * wv; }
    }
    workgroupBarrier();
  }
  if (k >= K) { return; }
  for (var t = 0u; t < MMBR_ROWS; t++) {
    if (t >= mmb_p.T) { break; }
    let o = t * K + k;
    var v = acc[t];
    if (mmb_p.accumulate != 0u) { v += mmb_dx[o]; }
    mmb_dx[o] = v;
  }
}
