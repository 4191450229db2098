// Cross-entropy for an LM head chunked over the vocabulary, so [T, V] probabilities never exist: per-token online
// log-sum-exp over the chunks (init, stats per chunk), then losses and the weighted loss (finish), then the logits'
// gradient written over each recomputed chunk in place (backward). Reference: src/ref/cross_entropy.ts.

const CE_WG: u32 = 256u;
const CE_IGNORE: i32 = -100;
// Finite stand-in for -inf as an empty running max: exp(CE_NEG - x) underflows to 0, and CE_NEG - CE_NEG is 0,
// where -inf - -inf would be NaN.
const CE_NEG: f32 = -1.0e30;

// (max, sum) pairs: the sum of exp(x - max) over two disjoint sets, merged.
fn ce_merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2f {
  let m = max(m1, m2);
  return vec2f(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

// ---- cross_entropy_init: empty statistics before the first chunk ----

struct CeInitParams {
  T: u32,
  row: u32,  // tokens per grid row (x workgroups * 256)
}

@group(0) @binding(0) var<storage, read_write> ce_init_stats: array<f32>;   // [T, 2] (running max, running sum)
@group(0) @binding(1) var<storage, read_write> ce_init_target: array<f32>;  // [T] logits[t, targets[t]]
@group(0) @binding(2) var<uniform> ce_init_p: CeInitParams;

@compute @workgroup_size(256)
fn cross_entropy_init(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y * ce_init_p.row + gid.x;
  if (t < ce_init_p.T) {
    ce_init_stats[t * 2u] = CE_NEG;
    ce_init_stats[t * 2u + 1u] = 0.0;
    ce_init_target[t] = 0.0;
  }
}

// ---- cross_entropy_stats: fold one chunk into the running statistics; one workgroup per token ----

struct CeStatsParams {
  T: u32,
  Vc: u32,        // vocabulary columns in this chunk
  v0: u32,        // vocabulary index of the chunk's column 0
  stride: u32,    // floats per chunk row (>= Vc)
  groups_x: u32,  // workgroups per grid row (tokens spill into y past the per-dimension limit)
}

@group(0) @binding(0) var<storage, read> ce_stats_chunk: array<f32>;         // [T, stride] logits[:, v0..v0+Vc)
@group(0) @binding(1) var<storage, read> ce_stats_targets: array<i32>;       // [T] vocab ids, -100 = ignore
@group(0) @binding(2) var<storage, read_write> ce_stats_stats: array<f32>;   // [T, 2] (running max, running sum)
@group(0) @binding(3) var<storage, read_write> ce_stats_target: array<f32>;  // [T] logits[t, targets[t]]
@group(0) @binding(4) var<uniform> ce_stats_p: CeStatsParams;

var<workgroup> ce_wg_max: array<f32, 256>;
var<workgroup> ce_wg_sum: array<f32, 256>;

@compute @workgroup_size(256)
fn cross_entropy_stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y * ce_stats_p.groups_x + wid.x;
  if (t >= ce_stats_p.T) {
    return;  // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let row = t * ce_stats_p.stride;
  // Online: one exp per logit; when a new max appears the sum so far is rescaled to it.
  var m = CE_NEG;
  var s = 0.0;
  for (var j = lid; j < ce_stats_p.Vc; j += CE_WG) {
    let x = ce_stats_chunk[row + j];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  ce_wg_max[lid] = m;
  ce_wg_sum[lid] = s;
  workgroupBarrier();
  for (var half = CE_WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      let r = ce_merge(ce_wg_max[lid], ce_wg_sum[lid], ce_wg_max[lid + half], ce_wg_sum[lid + half]);
      ce_wg_max[lid] = r.x;
      ce_wg_sum[lid] = r.y;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let r = ce_merge(ce_stats_stats[t * 2u], ce_stats_stats[t * 2u + 1u], ce_wg_max[0], ce_wg_sum[0]);
    ce_stats_stats[t * 2u] = r.x;
    ce_stats_stats[t * 2u + 1u] = r.y;
    let tgt = ce_stats_targets[t];
    let j = tgt - i32(ce_stats_p.v0);
    if (tgt >= 0 && j >= 0 && j < i32(ce_stats_p.Vc)) {
      ce_stats_target[t] = ce_stats_chunk[row + u32(j)];
    }
  }
}

// ---- cross_entropy_finish: lse, per-token losses, weighted total and per-group sums; one workgroup ----

struct CeFinishParams {
  T: u32,
  G: u32,           // groups (<= 8); loss has 1 + G entries
  accumulate: u32,  // 1: add to loss[] (micro-batches in one encoder); 0: overwrite
}

@group(0) @binding(0) var<storage, read> ce_fin_stats: array<f32>;         // [T, 2]
@group(0) @binding(1) var<storage, read> ce_fin_target: array<f32>;        // [T] logits[t, targets[t]]
@group(0) @binding(2) var<storage, read> ce_fin_targets: array<i32>;       // [T]
@group(0) @binding(3) var<storage, read> ce_fin_weights: array<f32>;       // [T]
@group(0) @binding(4) var<storage, read> ce_fin_group: array<u32>;         // [T] group of each token
@group(0) @binding(5) var<storage, read_write> ce_fin_lse: array<f32>;     // [T]
@group(0) @binding(6) var<storage, read_write> ce_fin_losses: array<f32>;  // [T] 0 for ignored tokens
@group(0) @binding(7) var<storage, read_write> ce_fin_loss: array<f32>;    // [1 + G] total, then per group
@group(0) @binding(8) var<uniform> ce_fin_p: CeFinishParams;

var<workgroup> ce_red: array<f32, 256>;

@compute @workgroup_size(256)
fn cross_entropy_finish(@builtin(local_invocation_index) lid: u32) {
  let G = min(ce_fin_p.G, 8u);
  var total = 0.0;
  var per = array<f32, 8>();
  for (var t = lid; t < ce_fin_p.T; t += CE_WG) {
    let lse = ce_fin_stats[t * 2u] + log(ce_fin_stats[t * 2u + 1u]);
    ce_fin_lse[t] = lse;
    var l = 0.0;
    if (ce_fin_targets[t] != CE_IGNORE) {
      l = lse - ce_fin_target[t];
      let wl = ce_fin_weights[t] * l;
      total += wl;
      let g = ce_fin_group[t];
      if (g < G) {
        per[g] += wl;
      }
    }
    ce_fin_losses[t] = l;
  }
  // Entry 0 is the total, entry 1 + g group g: one tree reduction each.
  for (var q = 0u; q <= G; q++) {
    var x = total;
    if (q > 0u) {
      x = per[q - 1u];
    }
    ce_red[lid] = x;
    workgroupBarrier();
    for (var half = CE_WG / 2u; half > 0u; half >>= 1u) {
      if (lid < half) {
        ce_red[lid] += ce_red[lid + half];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      var prev = 0.0;
      if (ce_fin_p.accumulate != 0u) {
        prev = ce_fin_loss[q];
      }
      ce_fin_loss[q] = prev + ce_red[0];
    }
    workgroupBarrier();
  }
}

// ---- cross_entropy_backward: chunk[t, j] <- weights[t]·(softmax − onehot), in place; one invocation per (t, j) ----

struct CeBackwardParams {
  T: u32,
  Vc: u32,
  v0: u32,
  stride: u32,
  row: u32,  // elements of [T, Vc] per grid row (x workgroups * 256)
}

@group(0) @binding(0) var<storage, read_write> ce_bwd_chunk: array<f32>;  // [T, stride] logits in, d(loss)/d(logits) out
@group(0) @binding(1) var<storage, read> ce_bwd_targets: array<i32>;      // [T]
@group(0) @binding(2) var<storage, read> ce_bwd_weights: array<f32>;      // [T]
@group(0) @binding(3) var<storage, read> ce_bwd_lse: array<f32>;          // [T] from cross_entropy_finish
@group(0) @binding(4) var<uniform> ce_bwd_p: CeBackwardParams;

@compute @workgroup_size(256)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * ce_bwd_p.row + gid.x;
  if (e >= ce_bwd_p.T * ce_bwd_p.Vc) {
    return;
  }
  let t = e / ce_bwd_p.Vc;
  let j = e % ce_bwd_p.Vc;
  let i = t * ce_bwd_p.stride + j;
  let tgt = ce_bwd_targets[t];
  if (tgt == CE_IGNORE) {
    ce_bwd_chunk[i] = 0.0;
    return;
  }
  let p = exp(ce_bwd_chunk[i] - ce_bwd_lse[t]);
  let hit = select(0.0, 1.0, i32(ce_bwd_p.v0 + j) == tgt);
  ce_bwd_chunk[i] = ce_bwd_weights[t] * (p - hit);
}
