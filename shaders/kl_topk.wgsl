// Logit distillation beside the chunked cross-entropy: KL(teacher || student) per token, the teacher known by its
// top-K ids and log-probs plus the rest of its mass as one bin, the student's logits existing one vocabulary chunk at a
// time. Per step: kl_topk_gather per chunk (the student's logits at the teacher's ids), kl_topk_forward once the
// cross-entropy has the log-sum-exp (per-token KL, weighted sums, gradient coefficients), and kl_topk_backward per
// recomputed chunk, which writes cross-entropy's and KL's gradient together: the chunk is overwritten in place, so
// the second kernel to run would find no logits left. On-policy distillation's reverse KL(student || teacher),
// kl_reverse_forward, takes kl_topk_forward's place and shares the gather and the backward, its gradient having the same
// dense-plus-sparse form. Formulas and constants: src/ref/kl_topk.ts and src/ref/kl_reverse.ts.

const KL_WG: u32 = 256u;
const KL_IGNORE: i32 = -100;
const KL_REST_EPS: f32 = 1.0e-6;   // a teacher remainder at or below this is rounding: its bin is skipped
const KL_REST_FLOOR: f32 = 1.0e-6; // the student's remainder 1 − Σ q_S is f32 noise below this

// ---- kl_topk_gather: z[t, k] = chunk[t, ids[t, k] − v0] for the ids this chunk holds; one invocation per (t, k) ----

struct KlGatherParams {
  T: u32,
  K: u32,
  Vc: u32,      // vocabulary columns in this chunk
  v0: u32,      // vocabulary index of the chunk's column 0
  stride: u32,  // floats per chunk row (>= Vc)
  row: u32,     // elements of [T, K] per grid row (x workgroups * 256)
}

@group(0) @binding(0) var<storage, read> kl_g_chunk: array<f32>;     // [T, stride] logits[:, v0..v0+Vc)
@group(0) @binding(1) var<storage, read> kl_g_ids: array<u32>;       // [T, K] teacher top-K ids
@group(0) @binding(2) var<storage, read_write> kl_g_z: array<f32>;   // [T, K] student logits at those ids
@group(0) @binding(3) var<uniform> kl_g_p: KlGatherParams;

@compute @workgroup_size(256)
fn kl_topk_gather(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * kl_g_p.row + gid.x;
  if (e >= kl_g_p.T * kl_g_p.K) {
    return;
  }
  let id = kl_g_ids[e];
  if (id >= kl_g_p.v0 && id < kl_g_p.v0 + kl_g_p.Vc) {
    kl_g_z[e] = kl_g_chunk[(e / kl_g_p.K) * kl_g_p.stride + (id - kl_g_p.v0)];
  }
}

// ---- kl_topk_forward: per-token KL, the backward's coefficients, and the weighted sums; one workgroup ----

struct KlForwardParams {
  T: u32,
  K: u32,
  slot: u32,        // loss[slot] receives the KL group's sum (1 + the cross-entropy groups)
  accumulate: u32,  // 1: add to loss[slot] (micro-batches in one encoder); 0: overwrite it
}

@group(0) @binding(0) var<storage, read> kl_f_z: array<f32>;              // [T, K] from kl_topk_gather
@group(0) @binding(1) var<storage, read> kl_f_logp: array<f32>;           // [T, K] teacher log-probs
@group(0) @binding(2) var<storage, read> kl_f_lse: array<f32>;            // [T] from cross_entropy_finish
@group(0) @binding(3) var<storage, read> kl_f_weights: array<f32>;        // [T] KL weight; 0 = not distilled
@group(0) @binding(4) var<storage, read_write> kl_f_tok: array<f32>;      // [T, 2] (KL, weight·b)
@group(0) @binding(5) var<storage, read_write> kl_f_sparse: array<f32>;   // [T, K] weight·((a − b)·q_k − p_k)
@group(0) @binding(6) var<storage, read_write> kl_f_loss: array<f32>;     // [>= slot + 1]; loss[0] is the total
@group(0) @binding(7) var<uniform> kl_f_p: KlForwardParams;

var<workgroup> kl_red: array<f32, 256>;

@compute @workgroup_size(256)
fn kl_topk_forward(@builtin(local_invocation_index) lid: u32) {
  let K = kl_f_p.K;
  var total = 0.0;
  for (var t = lid; t < kl_f_p.T; t += KL_WG) {
    let w = kl_f_weights[t];
    var kl = 0.0;
    var a = 0.0;
    var b = 0.0;
    if (w != 0.0) {
      let lse = kl_f_lse[t];
      var ps = 0.0;
      var qs = 0.0;
      for (var k = 0u; k < K; k++) {
        let lp = kl_f_logp[t * K + k];
        let lq = kl_f_z[t * K + k] - lse;
        let p = exp(lp);
        ps += p;
        qs += exp(lq);
        if (p > 0.0) {
          kl += p * (lp - lq);
        }
      }
      a = ps;
      b = ps;
      let r = 1.0 - ps;
      if (r > KL_REST_EPS) {
        let qr = max(1.0 - qs, KL_REST_FLOOR);
        kl += r * (log(r) - log(qr));
        a = ps + r;
        b = a - r / qr;
      }
      for (var k = 0u; k < K; k++) {
        let q = exp(kl_f_z[t * K + k] - lse);
        kl_f_sparse[t * K + k] = w * ((a - b) * q - exp(kl_f_logp[t * K + k]));
      }
      total += w * kl;
    } else {
      for (var k = 0u; k < K; k++) {
        kl_f_sparse[t * K + k] = 0.0;
      }
    }
    kl_f_tok[t * 2u] = kl;
    kl_f_tok[t * 2u + 1u] = w * b;
  }
  kl_red[lid] = total;
  workgroupBarrier();
  for (var half = KL_WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      kl_red[lid] += kl_red[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    // cross_entropy_finish has already written (or added to) loss[0] for this micro-batch.
    kl_f_loss[0] = kl_f_loss[0] + kl_red[0];
    var prev = 0.0;
    if (kl_f_p.accumulate != 0u) {
      prev = kl_f_loss[kl_f_p.slot];
    }
    kl_f_loss[kl_f_p.slot] = prev + kl_red[0];
  }
}

// ---- kl_reverse_forward: on-policy distillation's reverse KL(student || teacher); one workgroup ----
// Same inputs and outputs as kl_topk_forward, which it replaces, so kl_topk_backward writes its gradient unchanged
// (src/ref/kl_reverse.ts): tok = (KL, weight·(c_r − KL)), sparse = weight·q_k·(c_k − c_r), zeros where weight = 0.

@group(0) @binding(0) var<storage, read> klr_z: array<f32>;              // [T, K] from kl_topk_gather
@group(0) @binding(1) var<storage, read> klr_logp: array<f32>;           // [T, K] teacher log-probs
@group(0) @binding(2) var<storage, read> klr_lse: array<f32>;            // [T] from cross_entropy_finish
@group(0) @binding(3) var<storage, read> klr_weights: array<f32>;        // [T] reverse-KL weight; 0 = left alone
@group(0) @binding(4) var<storage, read_write> klr_tok: array<f32>;      // [T, 2] (KL, weight·b)
@group(0) @binding(5) var<storage, read_write> klr_sparse: array<f32>;   // [T, K] weight·q_k·(c_k − c_r)
@group(0) @binding(6) var<storage, read_write> klr_loss: array<f32>;     // [>= slot + 1]; loss[0] is the total
@group(0) @binding(7) var<uniform> klr_p: KlForwardParams;

var<workgroup> klr_red: array<f32, 256>;

@compute @workgroup_size(256)
fn kl_reverse_forward(@builtin(local_invocation_index) lid: u32) {
  let K = klr_p.K;
  var total = 0.0;
  for (var t = lid; t < klr_p.T; t += KL_WG) {
    let w = klr_weights[t];
    if (w == 0.0) {
      klr_tok[t * 2u] = 0.0;
      klr_tok[t * 2u + 1u] = 0.0;
      for (var k = 0u; k < K; k++) {
        klr_sparse[t * K + k] = 0.0;
      }
      continue;
    }
    let lse = klr_lse[t];
    var ps = 0.0;
    var qs = 0.0;
    var kl = 0.0;
    for (var k = 0u; k < K; k++) {
      let lq = klr_z[t * K + k] - lse;
      let lp = klr_logp[t * K + k];
      let q = exp(lq);
      ps += exp(lp);
      qs += q;
      kl += q * (lq - lp);
    }
    let qr = max(1.0 - qs, KL_REST_FLOOR);
    let cr = log(qr) - log(max(1.0 - ps, KL_REST_FLOOR));
    kl += qr * cr;
    for (var k = 0u; k < K; k++) {
      let lq = klr_z[t * K + k] - lse;
      klr_sparse[t * K + k] = w * exp(lq) * (lq - klr_logp[t * K + k] - cr);
    }
    klr_tok[t * 2u] = kl;
    klr_tok[t * 2u + 1u] = w * (cr - kl);
    total += w * kl;
  }
  klr_red[lid] = total;
  workgroupBarrier();
  for (var half = KL_WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      klr_red[lid] += klr_red[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    klr_loss[0] = klr_loss[0] + klr_red[0];
    var prev = 0.0;
    if (klr_p.accumulate != 0u) {
      prev = klr_loss[klr_p.slot];
    }
    klr_loss[klr_p.slot] = prev + klr_red[0];
  }
}

// ---- kl_topk_backward: chunk[t, j] <- CE's w·(q_j − hit) + KL's gradient, in place; one workgroup per token ----

struct KlBackwardParams {
  T: u32,
  K: u32,
  Vc: u32,
  v0: u32,
  stride: u32,
  groups_x: u32,  // workgroups per grid row (tokens spill into y past the per-dimension limit)
}

@group(0) @binding(0) var<storage, read_write> kl_b_chunk: array<f32>;  // [T, stride] logits in, d(loss)/d(logits) out
@group(0) @binding(1) var<storage, read> kl_b_targets: array<i32>;      // [T] cross-entropy targets, -100 = ignore
@group(0) @binding(2) var<storage, read> kl_b_weights: array<f32>;      // [T] cross-entropy weights
@group(0) @binding(3) var<storage, read> kl_b_lse: array<f32>;          // [T]
@group(0) @binding(4) var<storage, read> kl_b_ids: array<u32>;          // [T, K]
@group(0) @binding(5) var<storage, read> kl_b_tok: array<f32>;          // [T, 2] from kl_topk_forward
@group(0) @binding(6) var<storage, read> kl_b_sparse: array<f32>;       // [T, K] from kl_topk_forward
@group(0) @binding(7) var<uniform> kl_b_p: KlBackwardParams;

@compute @workgroup_size(256)
fn kl_topk_backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y * kl_b_p.groups_x + wid.x;
  if (t >= kl_b_p.T) {
    return;  // uniform per workgroup, so the barrier below stays in uniform control flow
  }
  let row = t * kl_b_p.stride;
  let lse = kl_b_lse[t];
  let tgt = kl_b_targets[t];
  let wce = select(kl_b_weights[t], 0.0, tgt == KL_IGNORE);
  let wb = kl_b_tok[t * 2u + 1u];
  // Dense: every column gets the part of KL's gradient that all of them share (weight·b·q_j).
  for (var j = lid; j < kl_b_p.Vc; j += KL_WG) {
    let q = exp(kl_b_chunk[row + j] - lse);
    let hit = select(0.0, 1.0, i32(kl_b_p.v0 + j) == tgt);
    kl_b_chunk[row + j] = wce * (q - hit) + wb * q;
  }
  storageBarrier();
  // Sparse: the teacher's ids in this chunk add the rest. Ids within a row are distinct, so no two writes collide.
  for (var k = lid; k < kl_b_p.K; k += KL_WG) {
    let id = kl_b_ids[t * kl_b_p.K + k];
    if (id >= kl_b_p.v0 && id < kl_b_p.v0 + kl_b_p.Vc) {
      let i = row + (id - kl_b_p.v0);
      kl_b_chunk[i] = kl_b_chunk[i] + kl_b_sparse[t * kl_b_p.K + k];
    }
  }
}
