// The teacher's targets for logit distillation, selected on the GPU: per row of logits, its K most likely tokens and
// their log-probabilities (log-softmax over the whole row), so a distilled position reads back K (id, log-prob) pairs
// instead of V logits (~600 KB on a 152k vocabulary). One workgroup per row, no sort of the row:
//   1. the max and Σ exp(x − max) over the finite logits (the log-sum-exp);
//   2. the key of the K-th largest logit by radix select: up to four passes, one 8-bit digit each, a 256-bin histogram
//      of the keys that share the digits found so far (the first two passes share the row with step 1). It stops
//      early once the bin holding the K-th key holds no loser: then every key from that bin up wins;
//   3. the winners: every key above the K-th, then of the keys equal to it the lowest ids (contiguous chunks scanned
//      in token order: two more passes, only when the K-th place is a tie), ranked by (logit descending, id
//      ascending) and written.
// Ties, -0 vs +0, masked (-inf) and NaN logits as src/ref/top_log_probs.ts, the reference.

const TLP_WG: u32 = 256u;
// The key of -inf; NaN gets it too (ranked as masked: the row's log-probs are NaN anyway).
const TLP_KEY_NEG_INF: u32 = 0x007fffffu;
const TLP_NEG_INF_BITS: u32 = 0xff800000u;
const TLP_NAN_BITS: u32 = 0x7fc00000u;

struct TopLogProbsParams {
  R: u32,         // rows of logits
  V: u32,         // vocabulary
  K: u32,         // 1..256, <= V
  stride: u32,    // floats per logits row (>= V)
  row0: u32,      // output row of logits row 0
  groups_x: u32,  // workgroups per grid row (rows spill into y past the per-dimension limit)
}

@group(0) @binding(0) var<storage, read> tlp_logits: array<f32>;     // [R, stride]
@group(0) @binding(1) var<storage, read_write> tlp_ids: array<u32>;   // [row0 + R, K] by descending log-prob
@group(0) @binding(2) var<storage, read_write> tlp_logp: array<f32>;  // [row0 + R, K]
@group(0) @binding(3) var<uniform> tlp_p: TopLogProbsParams;

var<workgroup> tlp_hist: array<atomic<u32>, 256>;
var<workgroup> tlp_red: array<f32, 256>;
var<workgroup> tlp_cnt: array<u32, 256>;
var<workgroup> tlp_sel_key: array<u32, 256>;
var<workgroup> tlp_sel_id: array<u32, 256>;
var<workgroup> tlp_max_key: atomic<u32>;
var<workgroup> tlp_bad: atomic<u32>;
var<workgroup> tlp_fill: atomic<u32>;
// (prefix of the K-th largest key so far, how many keys with that prefix win, the prefix's mask, 1 if all of them win)
var<workgroup> tlp_state: vec4u;

// Tested on the bits: GPUs may assume floats are finite, so -inf and NaN must never reach arithmetic.
fn tlp_finite(b: u32) -> bool {
  return (b & 0x7f800000u) != 0x7f800000u;
}

fn tlp_is_nan(b: u32) -> bool {
  return (b & 0x7fffffffu) > 0x7f800000u;
}

// Order-preserving: unsigned order of keys = float order; -0 and +0 share a key so they tie; NaN is -inf.
fn tlp_key(b0: u32) -> u32 {
  var b = b0;
  if (tlp_is_nan(b)) {
    return TLP_KEY_NEG_INF;
  }
  if (b == 0x80000000u) {
    b = 0u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Adds a run of n keys in bin `bin` to the histogram: strided rows hit few bins, so runs spare most atomics.
fn tlp_flush(bin: u32, n: u32) {
  if (n != 0u) {
    atomicAdd(&tlp_hist[bin], n);
  }
}

// Thread 0 walks the histogram from the top: the bin holding the wanted-th largest key gives the next digit; the
// keys in the bins above it are all winners. It also clears the bins for the next digit. Then everyone reads the state.
fn tlp_pick_digit(lid: u32, shift: u32) -> vec4u {
  workgroupBarrier();
  if (lid == 0u) {
    var s = tlp_state;
    var found = false;
    for (var i = 0u; i < 256u; i++) {
      let bin = 255u - i;
      let c = atomicLoad(&tlp_hist[bin]);
      atomicStore(&tlp_hist[bin], 0u);
      if (!found) {
        if (c >= s.y) {
          s.x = s.x | (bin << shift);
          s.z = 0xffffffffu << shift;
          s.w = select(0u, 1u, c == s.y);
          found = true;
        } else {
          s.y -= c;
        }
      }
    }
    tlp_state = s;
  }
  return workgroupUniformLoad(&tlp_state);
}

// Histogram of digit `shift` over the keys whose higher digits (mask) equal the prefix.
fn tlp_histogram(base: u32, lid: u32, shift: u32, mask: u32, prefix: u32) {
  var run_bin = 0u;
  var run_n = 0u;
  for (var i = lid; i < tlp_p.V; i += TLP_WG) {
    let key = tlp_key(bitcast<u32>(tlp_logits[base + i]));
    if ((key & mask) == prefix) {
      let bin = (key >> shift) & 255u;
      if (bin != run_bin) {
        tlp_flush(run_bin, run_n);
        run_bin = bin;
        run_n = 0u;
      }
      run_n++;
    }
  }
  tlp_flush(run_bin, run_n);
}

@compute @workgroup_size(256)
fn top_log_probs(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * tlp_p.groups_x + wid.x;
  if (r >= tlp_p.R) {
    return;  // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let V = tlp_p.V;
  let K = tlp_p.K;
  let base = r * tlp_p.stride;
  atomicStore(&tlp_hist[lid], 0u);
  if (lid == 0u) {
    atomicStore(&tlp_max_key, 0u);
    atomicStore(&tlp_bad, 0u);
    atomicStore(&tlp_fill, 0u);
    tlp_state = vec4u(0u, K, 0u, 0u);
  }
  workgroupBarrier();

  // Pass 1: the max of the finite logits, whether any is NaN or +inf, and the top digit's histogram.
  var kmax = 0u;
  var bad = 0u;
  var run_bin = 0u;
  var run_n = 0u;
  for (var i = lid; i < V; i += TLP_WG) {
    let b = bitcast<u32>(tlp_logits[base + i]);
    let key = tlp_key(b);
    if (tlp_finite(b)) {
      kmax = max(kmax, key);
    } else if (b != TLP_NEG_INF_BITS) {
      bad = 1u;
    }
    let bin = key >> 24u;
    if (bin != run_bin) {
      tlp_flush(run_bin, run_n);
      run_bin = bin;
      run_n = 0u;
    }
    run_n++;
  }
  tlp_flush(run_bin, run_n);
  atomicMax(&tlp_max_key, kmax);
  atomicMax(&tlp_bad, bad);
  var s = tlp_pick_digit(lid, 24u);
  // After the barrier in tlp_pick_digit, so every invocation's atomicMax has landed.
  let max_key = atomicLoad(&tlp_max_key);
  // No finite logit, or a NaN or +inf one: the log-sum-exp is NaN, as in float64 (the log-probs carry it).
  let lse_nan = max_key == 0u || atomicLoad(&tlp_bad) != 0u;
  var m = 0.0;
  if (max_key != 0u) {
    m = bitcast<f32>(select(~max_key, max_key & 0x7fffffffu, (max_key & 0x80000000u) != 0u));
  }

  // Pass 2: Σ exp(x − max) (compensated per invocation, then a tree), and the second digit.
  var sum = 0.0;
  var comp = 0.0;
  run_bin = 0u;
  run_n = 0u;
  for (var i = lid; i < V; i += TLP_WG) {
    let b = bitcast<u32>(tlp_logits[base + i]);
    if (tlp_finite(b)) {
      let y = exp(bitcast<f32>(b) - m) - comp;
      let t = sum + y;
      comp = (t - sum) - y;
      sum = t;
    }
    let key = tlp_key(b);
    if (s.w == 0u && (key & s.z) == s.x) {
      let bin = (key >> 16u) & 255u;
      if (bin != run_bin) {
        tlp_flush(run_bin, run_n);
        run_bin = bin;
        run_n = 0u;
      }
      run_n++;
    }
  }
  tlp_flush(run_bin, run_n);
  tlp_red[lid] = sum;
  workgroupBarrier();
  if (s.w == 0u) {
    s = tlp_pick_digit(lid, 16u);
  }
  for (var half = TLP_WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      tlp_red[lid] += tlp_red[lid + half];
    }
    workgroupBarrier();
  }
  let lse = m + log(tlp_red[0]);

  // Passes 3 and 4: the last two digits, unless done. s.x is then the K-th largest key, and s.y how many keys equal
  // to it win.
  if (s.w == 0u) {
    tlp_histogram(base, lid, 8u, s.z, s.x);
    s = tlp_pick_digit(lid, 8u);
  }
  if (s.w == 0u) {
    tlp_histogram(base, lid, 0u, s.z, s.x);
    s = tlp_pick_digit(lid, 0u);
  }

  if (s.w != 0u) {
    // No tie to break at the K-th place: the K keys from the last bin up, in any order (ranked below).
    for (var i = lid; i < V; i += TLP_WG) {
      let key = tlp_key(bitcast<u32>(tlp_logits[base + i]));
      if ((key & s.z) >= s.x) {
        let slot = atomicAdd(&tlp_fill, 1u);
        if (slot < K) {
          tlp_sel_key[slot] = key;
          tlp_sel_id[slot] = i;
        }
      }
    }
  } else {
    let kth = s.x;
    let ties = s.y;
    // Pass 5: keys equal to the K-th per contiguous chunk, so that a scan in token order ranks them by id.
    let chunk = (V + TLP_WG - 1u) / TLP_WG;
    let lo = min(lid * chunk, V);
    let hi = min(lo + chunk, V);
    var eq = 0u;
    for (var i = lo; i < hi; i++) {
      eq += select(0u, 1u, tlp_key(bitcast<u32>(tlp_logits[base + i])) == kth);
    }
    tlp_cnt[lid] = eq;
    workgroupBarrier();
    if (lid == 0u) {
      var acc = 0u;
      for (var i = 0u; i < TLP_WG; i++) {
        let c = tlp_cnt[i];
        tlp_cnt[i] = acc;
        acc += c;
      }
    }
    workgroupBarrier();

    // Pass 6: the winners into the selection, in any order (ranked below): those above the K-th from slot 0 on,
    // the first `ties` equal to it from slot K − ties on.
    var rank = tlp_cnt[lid];
    for (var i = lo; i < hi; i++) {
      let key = tlp_key(bitcast<u32>(tlp_logits[base + i]));
      if (key > kth) {
        let slot = atomicAdd(&tlp_fill, 1u);
        if (slot < K) {
          tlp_sel_key[slot] = key;
          tlp_sel_id[slot] = i;
        }
      } else if (key == kth) {
        if (rank < ties) {
          tlp_sel_key[K - ties + rank] = key;
          tlp_sel_id[K - ties + rank] = i;
        }
        rank++;
      }
    }
  }
  workgroupBarrier();

  // Rank each winner among the K: by key descending, then id ascending.
  if (lid < K) {
    let key = tlp_sel_key[lid];
    let id = tlp_sel_id[lid];
    var at = 0u;
    for (var j = 0u; j < K; j++) {
      let kj = tlp_sel_key[j];
      at += select(0u, 1u, kj > key || (kj == key && tlp_sel_id[j] < id));
    }
    let b = bitcast<u32>(tlp_logits[base + id]);
    // As bits: WGSL has no NaN or infinite constants.
    var lp = TLP_NAN_BITS;
    if (!lse_nan) {
      lp = select(TLP_NEG_INF_BITS, bitcast<u32>(bitcast<f32>(b) - lse), tlp_finite(b));
    }
    let o = (tlp_p.row0 + r) * K + at;
    tlp_ids[o] = id;
    tlp_logp[o] = bitcast<f32>(lp);
  }
}
