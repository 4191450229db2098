// Causal grouped-query attention over packed sequences, FlashAttention style: tiles of keys stream through
// workgroup memory with an online softmax, so no [T x T] scores exist and only keys of a tile's own sequences
// are visited. The backward recomputes probabilities from lse: dk/dv per key tile, dq per query tile, no atomics.
//
// Packing (src/llama/dims.ts): query t sees keys seqStart[t]..t; seqStart never decreases along t, so a tile of
// queries q0.. needs keys from seqStart[q0] on, and a tile of keys ..kLast is seen only by queries t with
// seqStart[t] <= kLast. Query head h reads kv head h / (H / KV).

struct AttParams {
  T: u32,      // tokens
  H: u32,      // query heads
  KV: u32,     // kv heads (H % KV == 0)
  scale: f32,  // 1 / sqrt(D)
}

// Chosen per D by src/llama/ops/attention.ts so workgroup memory stays <= 16 KiB and a tile's [rows, D] block
// fits ATT_ACC private slots per invocation.
override ATT_D: u32 = 64u;   // head dim
override ATT_BQ: u32 = 16u;  // queries per tile
override ATT_BK: u32 = 16u;  // keys per tile
const ATT_WG: u32 = 64u;     // invocations per workgroup
const ATT_ACC: u32 = 32u;    // private accumulator slots per invocation
const ATT_NEG: f32 = -1e30;  // running max before any visible key
const ATT_NONE: u32 = 0xffffffffu; // seqStart of rows past T: sees nothing
override ATT_NQD = (ATT_BQ * ATT_D + ATT_WG - 1u) / ATT_WG;   // [BQ,D] elements per invocation
override ATT_NKD = (ATT_BK * ATT_D + ATT_WG - 1u) / ATT_WG;   // [BK,D] elements per invocation
override ATT_NP = (ATT_BQ * ATT_BK + ATT_WG - 1u) / ATT_WG;   // (query, key) pairs per invocation

// Workgroup tiles. att_q holds scale * q, so scores need no extra multiply (and dk comes out scaled).
var<workgroup> att_q: array<f32, ATT_BQ * ATT_D>;    // [BQ,D]
var<workgroup> att_do: array<f32, ATT_BQ * ATT_D>;   // [BQ,D] (backward)
var<workgroup> att_k: array<f32, ATT_BK * ATT_D>;    // [BK,D] (forward: K, then V of the same tile)
var<workgroup> att_v: array<f32, ATT_BK * ATT_D>;    // [BK,D] (backward)
var<workgroup> att_s: array<f32, ATT_BQ * ATT_BK>;   // [BQ,BK] forward scores -> probabilities; backward P
var<workgroup> att_ds: array<f32, ATT_BQ * ATT_BK>;  // [BQ,BK] backward dS = P * (dP - delta)
var<workgroup> att_lo: array<u32, ATT_BQ>;           // [BQ] seqStart of each query row
var<workgroup> att_m: array<f32, ATT_BQ>;            // [BQ] forward running max; backward lse
var<workgroup> att_l: array<f32, ATT_BQ>;            // [BQ] forward running sum; backward delta
var<workgroup> att_alpha: array<f32, ATT_BQ>;        // [BQ] forward rescale of the accumulator this tile

fn att_visible(qi: u32, t: u32, j: u32) -> bool {
  return j >= att_lo[qi] && j <= t;
}

// ---- forward: one workgroup per (query tile, head), grid (ceil(T/BQ), H)

@group(0) @binding(0) var<storage, read> att_fq: array<f32>;          // [T,H,D]
@group(0) @binding(1) var<storage, read> att_fk: array<f32>;          // [T,KV,D]
@group(0) @binding(2) var<storage, read> att_fv: array<f32>;          // [T,KV,D]
@group(0) @binding(3) var<storage, read> att_fseq: array<u32>;        // [T]
@group(0) @binding(4) var<storage, read_write> att_fout: array<f32>;  // [T,H,D]
@group(0) @binding(5) var<storage, read_write> att_flse: array<f32>;  // [H,T]
@group(0) @binding(6) var<uniform> att_fp: AttParams;

// Keys (or values) j = k0.. of kv head g into att_k.
fn att_fload(k0: u32, g: u32, lid: u32, T: u32, KV: u32, values: bool) {
  for (var c = 0u; c < ATT_NKD; c++) {
    let e = lid + ATT_WG * c;
    let j = k0 + e / ATT_D;
    if (e < ATT_BK * ATT_D) {
      let i = (j * KV + g) * ATT_D + e % ATT_D;
      var x = 0.0;
      if (j < T && values) { x = att_fv[i]; } else if (j < T) { x = att_fk[i]; }
      att_k[e] = x;
    }
  }
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = att_fp.T; let H = att_fp.H; let KV = att_fp.KV;
  let h = wg.y;
  let g = h / (H / KV);
  let q0 = wg.x * ATT_BQ;
  let qEnd = min(q0 + ATT_BQ, T);
  for (var c = 0u; c < ATT_NQD; c++) {
    let e = lid + ATT_WG * c;
    if (e < ATT_BQ * ATT_D) {
      let t = q0 + e / ATT_D;
      var x = 0.0;
      if (t < T) { x = att_fq[(t * H + h) * ATT_D + e % ATT_D] * att_fp.scale; }
      att_q[e] = x;
    }
  }
  if (lid < ATT_BQ) {
    let t = q0 + lid;
    var lo = ATT_NONE;
    if (t < T) { lo = att_fseq[t]; }
    att_lo[lid] = lo;
    att_m[lid] = ATT_NEG;
    att_l[lid] = 0.0;
  }
  var acc: array<f32, ATT_ACC>;  // this invocation's elements e = lid + 64 c of the [BQ,D] output tile
  for (var k0 = att_fseq[q0]; k0 < qEnd; k0 += ATT_BK) {
    workgroupBarrier();  // the previous tile's readers of att_k and att_s are done
    att_fload(k0, g, lid, T, KV, false);
    workgroupBarrier();
    for (var c = 0u; c < ATT_NP; c++) {
      let p = lid + ATT_WG * c;
      if (p < ATT_BQ * ATT_BK) {
        let qi = p / ATT_BK;
        let kj = p % ATT_BK;
        var s = 0.0;
        for (var d = 0u; d < ATT_D; d++) { s += att_q[qi * ATT_D + d] * att_k[kj * ATT_D + d]; }
        att_s[p] = s;
      }
    }
    workgroupBarrier();
    // V replaces K in att_k while one invocation per row turns its scores into probabilities.
    att_fload(k0, g, lid, T, KV, true);
    if (lid < ATT_BQ) {
      let t = q0 + lid;
      let mOld = att_m[lid];
      var m = mOld;
      for (var kj = 0u; kj < ATT_BK; kj++) {
        if (att_visible(lid, t, k0 + kj)) { m = max(m, att_s[lid * ATT_BK + kj]); }
      }
      var sum = 0.0;
      for (var kj = 0u; kj < ATT_BK; kj++) {
        var p = 0.0;
        if (att_visible(lid, t, k0 + kj)) { p = exp(att_s[lid * ATT_BK + kj] - m); }
        att_s[lid * ATT_BK + kj] = p;
        sum += p;
      }
      let alpha = exp(mOld - m);  // 0 on the first visible tile, 1 while nothing was visible
      att_alpha[lid] = alpha;
      att_l[lid] = att_l[lid] * alpha + sum;
      att_m[lid] = m;
    }
    workgroupBarrier();
    for (var c = 0u; c < ATT_NQD; c++) {
      let e = lid + ATT_WG * c;
      if (e < ATT_BQ * ATT_D) {
        let qi = e / ATT_D;
        let d = e % ATT_D;
        var a = acc[c] * att_alpha[qi];
        for (var kj = 0u; kj < ATT_BK; kj++) { a += att_s[qi * ATT_BK + kj] * att_k[kj * ATT_D + d]; }
        acc[c] = a;
      }
    }
  }
  for (var c = 0u; c < ATT_NQD; c++) {
    let e = lid + ATT_WG * c;
    let t = q0 + e / ATT_D;
    if (e < ATT_BQ * ATT_D && t < T) {
      att_fout[(t * H + h) * ATT_D + e % ATT_D] = acc[c] / att_l[e / ATT_D];
    }
  }
  if (lid < ATT_BQ && q0 + lid < T) {
    att_flse[h * T + q0 + lid] = att_m[lid] + log(att_l[lid]);
  }
}

// ---- backward, step 1: delta[h,t] = dout[t,h] · out[t,h], and a copy of lse beside it, so the two later
// kernels read both from one binding (keeping them within 8 storage buffers). Grid (ceil(T/64), H).

@group(0) @binding(0) var<storage, read> att_ddout: array<f32>;         // [T,H,D]
@group(0) @binding(1) var<storage, read> att_dfout: array<f32>;         // [T,H,D] forward out
@group(0) @binding(2) var<storage, read> att_dlse: array<f32>;          // [H,T]
@group(0) @binding(3) var<storage, read_write> att_dstats: array<f32>;  // [2,H,T]: delta, then lse
@group(0) @binding(4) var<uniform> att_dp: AttParams;

@compute @workgroup_size(64)
fn attention_backward_delta(@builtin(global_invocation_id) gid: vec3u) {
  let T = att_dp.T; let H = att_dp.H;
  let t = gid.x;
  let h = gid.y;
  if (t >= T) { return; }
  let o = (t * H + h) * ATT_D;
  var s = 0.0;
  for (var d = 0u; d < ATT_D; d++) { s += att_ddout[o + d] * att_dfout[o + d]; }
  att_dstats[h * T + t] = s;
  att_dstats[H * T + h * T + t] = att_dlse[h * T + t];
}

// ---- backward, steps 2 and 3 share these bindings (dq and dk alias binding 6; only one entry uses each).

@group(0) @binding(0) var<storage, read> att_bdout: array<f32>;         // [T,H,D]
@group(0) @binding(1) var<storage, read> att_bq: array<f32>;            // [T,H,D]
@group(0) @binding(2) var<storage, read> att_bk: array<f32>;            // [T,KV,D]
@group(0) @binding(3) var<storage, read> att_bv: array<f32>;            // [T,KV,D]
@group(0) @binding(4) var<storage, read> att_bseq: array<u32>;          // [T]
@group(0) @binding(5) var<storage, read> att_bstats: array<f32>;        // [2,H,T] from attention_backward_delta

// Loads rows t = q0.. of head h: scale * q, dout, seqStart, lse, delta.
fn att_load_queries(q0: u32, h: u32, lid: u32, T: u32, H: u32, scale: f32) {
  for (var c = 0u; c < ATT_NQD; c++) {
    let e = lid + ATT_WG * c;
    if (e < ATT_BQ * ATT_D) {
      let t = q0 + e / ATT_D;
      var x = 0.0;
      var y = 0.0;
      if (t < T) {
        let i = (t * H + h) * ATT_D + e % ATT_D;
        x = att_bq[i] * scale;
        y = att_bdout[i];
      }
      att_q[e] = x;
      att_do[e] = y;
    }
  }
  if (lid < ATT_BQ) {
    let t = q0 + lid;
    var lo = ATT_NONE;
    var lse = 0.0;
    var delta = 0.0;
    if (t < T) {
      lo = att_bseq[t];
      delta = att_bstats[h * T + t];
      lse = att_bstats[H * T + h * T + t];
    }
    att_lo[lid] = lo;
    att_m[lid] = lse;
    att_l[lid] = delta;
  }
}

// Loads keys and values j = k0.. of kv head g.
fn att_load_keys(k0: u32, g: u32, lid: u32, T: u32, KV: u32) {
  for (var c = 0u; c < ATT_NKD; c++) {
    let e = lid + ATT_WG * c;
    if (e < ATT_BK * ATT_D) {
      let j = k0 + e / ATT_D;
      var x = 0.0;
      var y = 0.0;
      if (j < T) {
        let i = (j * KV + g) * ATT_D + e % ATT_D;
        x = att_bk[i];
        y = att_bv[i];
      }
      att_k[e] = x;
      att_v[e] = y;
    }
  }
}

// P and dS = P * (dout · v - delta) for every (query, key) pair of the loaded tiles; 0 where not visible.
fn att_pairs(q0: u32, k0: u32, lid: u32) {
  for (var c = 0u; c < ATT_NP; c++) {
    let p = lid + ATT_WG * c;
    if (p < ATT_BQ * ATT_BK) {
      let qi = p / ATT_BK;
      let kj = p % ATT_BK;
      var prob = 0.0;
      var ds = 0.0;
      if (att_visible(qi, q0 + qi, k0 + kj)) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < ATT_D; d++) {
          s += att_q[qi * ATT_D + d] * att_k[kj * ATT_D + d];
          dp += att_do[qi * ATT_D + d] * att_v[kj * ATT_D + d];
        }
        prob = exp(s - att_m[qi]);
        ds = prob * (dp - att_l[qi]);
      }
      att_s[p] = prob;
      att_ds[p] = ds;
    }
  }
}

@group(0) @binding(6) var<storage, read_write> att_bdk: array<f32>;     // [T,KV,D] written
@group(0) @binding(7) var<storage, read_write> att_bdv: array<f32>;     // [T,KV,D] written
@group(0) @binding(8) var<uniform> att_bkp: AttParams;

// Step 2: one workgroup per (key tile, kv head), grid (ceil(T/BK), KV); loops over the query tiles that can see
// the keys and over the H/KV query heads of the kv head, so each dk/dv element has a single writer.
@compute @workgroup_size(64)
fn attention_backward_dkdv(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = att_bkp.T; let H = att_bkp.H; let KV = att_bkp.KV;
  let G = H / KV;
  let g = wg.y;
  let k0 = wg.x * ATT_BK;
  let kLast = min(k0 + ATT_BK, T) - 1u;
  att_load_keys(k0, g, lid, T, KV);
  var dk: array<f32, ATT_ACC>;  // elements e = lid + 64 c of the [BK,D] tile
  var dv: array<f32, ATT_ACC>;
  var q0 = k0;  // queries before k0 are causal-masked from every key of the tile
  loop {
    if (q0 >= T || att_bseq[q0] > kLast) { break; }
    for (var hh = 0u; hh < G; hh++) {
      workgroupBarrier();  // keys loaded; the previous step's readers of the query tiles are done
      att_load_queries(q0, g * G + hh, lid, T, H, att_bkp.scale);
      workgroupBarrier();
      att_pairs(q0, k0, lid);
      workgroupBarrier();
      for (var c = 0u; c < ATT_NKD; c++) {
        let e = lid + ATT_WG * c;
        if (e < ATT_BK * ATT_D) {
          let kj = e / ATT_D;
          let d = e % ATT_D;
          var av = 0.0;
          var ak = 0.0;
          for (var qi = 0u; qi < ATT_BQ; qi++) {
            av += att_s[qi * ATT_BK + kj] * att_do[qi * ATT_D + d];
            ak += att_ds[qi * ATT_BK + kj] * att_q[qi * ATT_D + d];  // att_q carries the scale
          }
          dv[c] += av;
          dk[c] += ak;
        }
      }
    }
    q0 += ATT_BQ;
  }
  for (var c = 0u; c < ATT_NKD; c++) {
    let e = lid + ATT_WG * c;
    let j = k0 + e / ATT_D;
    if (e < ATT_BK * ATT_D && j < T) {
      let i = (j * KV + g) * ATT_D + e % ATT_D;
      att_bdk[i] = dk[c];
      att_bdv[i] = dv[c];
    }
  }
}

@group(0) @binding(6) var<storage, read_write> att_bdq: array<f32>;     // [T,H,D] written
@group(0) @binding(7) var<uniform> att_bqp: AttParams;

// Step 3: one workgroup per (query tile, head), grid (ceil(T/BQ), H); visits the same key tiles as the forward.
@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = att_bqp.T; let H = att_bqp.H; let KV = att_bqp.KV;
  let h = wg.y;
  let g = h / (H / KV);
  let q0 = wg.x * ATT_BQ;
  let qEnd = min(q0 + ATT_BQ, T);
  att_load_queries(q0, h, lid, T, H, att_bqp.scale);
  var acc: array<f32, ATT_ACC>;  // elements e = lid + 64 c of the [BQ,D] tile
  for (var k0 = att_bseq[q0]; k0 < qEnd; k0 += ATT_BK) {
    workgroupBarrier();  // queries loaded; the previous tile's readers of att_k and att_ds are done
    att_load_keys(k0, g, lid, T, KV);
    workgroupBarrier();
    att_pairs(q0, k0, lid);
    workgroupBarrier();
    for (var c = 0u; c < ATT_NQD; c++) {
      let e = lid + ATT_WG * c;
      if (e < ATT_BQ * ATT_D) {
        let qi = e / ATT_D;
        let d = e % ATT_D;
        var a = 0.0;
        for (var kj = 0u; kj < ATT_BK; kj++) { a += att_ds[qi * ATT_BK + kj] * att_k[kj * ATT_D + d]; }
        acc[c] += a;
      }
    }
  }
  for (var c = 0u; c < ATT_NQD; c++) {
    let e = lid + ATT_WG * c;
    let t = q0 + e / ATT_D;
    if (e < ATT_BQ * ATT_D && t < T) {
      att_bdq[(t * H + h) * ATT_D + e % ATT_D] = acc[c] * att_bqp.scale;
    }
  }
}
