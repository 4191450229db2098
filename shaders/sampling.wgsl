// Batched next-token sampling on the GPU, so a decode step reads back only B token ids. One workgroup per row:
// temperature, top-k, then top-p over the top-k survivors (Hugging Face's order), without sorting: each threshold is
// a 32-step binary search over order-preserving u32 keys of the scaled logits, each step a workgroup-wide count (top-k)
// or mass sum (top-p) over the row. Then min-p, whose threshold is the max plus ln(min_p), and one draw from a
// stateless hash of (seed, step, row). Reference: src/ref/sampling.ts (sample_tokens, sampling_key, sampling_uniform).

const SMP_WG: u32 = 256u;
// The key of -inf: masked (and non-finite) logits get it and weigh nothing.
const SMP_KEY_NEG_INF: u32 = 0x007fffffu;

// One row's settings: 6 x 4 bytes, array stride 24 (packSamplingSettings in src/llama/ops/sampling.ts).
struct SamplingRow {
  temperature: f32,  // <= 0: greedy (argmax of the raw logits, lowest id on ties)
  top_k: u32,        // 0 or >= V: off; ties with the k-th largest are all kept
  top_p: f32,        // >= 1: off; ties at the boundary are all kept
  seed: u32,
  step: u32,
  min_p_log: f32,    // ln(min_p) <= 0, computed on the host; > 0: off. Ties at the boundary are all kept
}

struct SamplingParams {
  B: u32,
  V: u32,
  groups_x: u32,  // workgroups per grid row (rows spill into y past the per-dimension limit)
}

@group(0) @binding(0) var<storage, read> smp_logits: array<f32>;          // [B, V]
@group(0) @binding(1) var<storage, read> smp_settings: array<SamplingRow>; // [B]
@group(0) @binding(2) var<storage, read_write> smp_ids: array<u32>;       // [B] sampled token ids
@group(0) @binding(3) var<storage, read_write> smp_aux: array<u32>;       // [B, 3] (threshold key, kept, non-finite)
@group(0) @binding(4) var<uniform> smp_p: SamplingParams;

var<workgroup> smp_row: SamplingRow;
var<workgroup> smp_red_f: array<f32, 256>;
var<workgroup> smp_red_u: array<u32, 256>;
var<workgroup> smp_part_f: array<f32, 16>;
var<workgroup> smp_part_u: array<u32, 16>;
var<workgroup> smp_scan: array<f32, 257>;
var<workgroup> smp_pick: atomic<u32>;
var<workgroup> smp_last: atomic<u32>;

// How many logits of the row are NaN or infinite (a broken model, never a real distribution), to every invocation.
fn smp_non_finite(base: u32, lid: u32) -> u32 {
  var n = 0u;
  for (var i = lid; i < smp_p.V; i += SMP_WG) {
    n += select(1u, 0u, smp_finite(smp_logits[base + i]));
  }
  return smp_reduce_u(n, lid, 0u);
}

// Order-preserving: unsigned order of keys = float order; -0 and +0 share a key so they tie.
fn smp_key(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if (b == 0x80000000u) {
    b = 0u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn smp_unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// Tested on the bits: GPUs may assume floats are finite, so -inf must never reach arithmetic.
fn smp_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The key of logit l / temperature, SMP_KEY_NEG_INF when the logit or the quotient is not finite.
fn smp_key_of(l: f32, temp: f32) -> u32 {
  if (!smp_finite(l)) {
    return SMP_KEY_NEG_INF;
  }
  let z = l / temp;
  return select(SMP_KEY_NEG_INF, smp_key(z), smp_finite(z));
}

// exp(l / temperature - zmax), 0 for masked tokens. Every pass recomputes it with the same expression, bit for bit.
fn smp_weight_of(l: f32, temp: f32, zmax: f32) -> f32 {
  if (!smp_finite(l)) {
    return 0.0;
  }
  let z = l / temp;
  return select(0.0, exp(z - zmax), smp_finite(z));
}

fn smp_pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// u in [0, 1) with 24 bits, exact in f32. It depends on the request's seed and step only, not on the row, so a
// request draws the same tokens whichever batch it shares and wherever it sits in it.
fn smp_uniform(seed: u32, step: u32) -> f32 {
  let h = smp_pcg(seed ^ smp_pcg(step));
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

// Workgroup sum in a fixed order (16 partials of 16), returned to every invocation. Two barriers; the arrays are not
// touched again until every invocation has passed the next call's first barrier, so calls can follow each other.
fn smp_sum_f(x: f32, lid: u32) -> f32 {
  smp_red_f[lid] = x;
  workgroupBarrier();
  if (lid < 16u) {
    var s = 0.0;
    for (var i = 0u; i < 16u; i++) {
      s += smp_red_f[lid * 16u + i];
    }
    smp_part_f[lid] = s;
  }
  workgroupBarrier();
  var s = 0.0;
  for (var i = 0u; i < 16u; i++) {
    s += smp_part_f[i];
  }
  return s;
}

// op 0: sum, 1: max, 2: min; same scheme as smp_sum_f.
fn smp_reduce_u(x: u32, lid: u32, op: u32) -> u32 {
  smp_red_u[lid] = x;
  workgroupBarrier();
  if (lid < 16u) {
    var r = smp_red_u[lid * 16u];
    for (var i = 1u; i < 16u; i++) {
      let y = smp_red_u[lid * 16u + i];
      r = select(select(min(r, y), max(r, y), op == 1u), r + y, op == 0u);
    }
    smp_part_u[lid] = r;
  }
  workgroupBarrier();
  var r = smp_part_u[0];
  for (var i = 1u; i < 16u; i++) {
    let y = smp_part_u[i];
    r = select(select(min(r, y), max(r, y), op == 1u), r + y, op == 0u);
  }
  return r;
}

// Tokens of the row with key >= t. Strided (coalesced) loads: order does not matter for a count.
fn smp_count(base: u32, t: u32, temp: f32, lid: u32) -> u32 {
  var n = 0u;
  for (var i = lid; i < smp_p.V; i += SMP_WG) {
    n += select(0u, 1u, smp_key_of(smp_logits[base + i], temp) >= t);
  }
  return smp_reduce_u(n, lid, 0u);
}

// Σ exp(z - zmax) over tokens with key >= t, in a fixed order, so equal t gives the same sum bit for bit.
fn smp_mass(base: u32, t: u32, temp: f32, zmax: f32, lid: u32) -> f32 {
  var m = 0.0;
  for (var i = lid; i < smp_p.V; i += SMP_WG) {
    let l = smp_logits[base + i];
    if (smp_key_of(l, temp) >= t) {
      m += smp_weight_of(l, temp, zmax);
    }
  }
  return smp_sum_f(m, lid);
}

@compute @workgroup_size(256)
fn sample_tokens(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y * smp_p.groups_x + wid.x;
  if (b >= smp_p.B) {
    return;  // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let V = smp_p.V;
  let base = b * V;
  if (lid == 0u) {
    smp_row = smp_settings[b];
    atomicStore(&smp_pick, 0xffffffffu);
    atomicStore(&smp_last, 0u);
  }
  let s = workgroupUniformLoad(&smp_row);
  let non_finite = smp_non_finite(base, lid);
  if (lid == 0u) {
    smp_aux[b * 3u + 2u] = non_finite;
  }

  if (!(s.temperature > 0.0)) {
    // Greedy: the largest key, then the lowest id holding it.
    var best = 0u;
    for (var i = lid; i < V; i += SMP_WG) {
      best = max(best, smp_key_of(smp_logits[base + i], 1.0));
    }
    best = smp_reduce_u(best, lid, 1u);
    var first = 0xffffffffu;
    for (var i = lid; i < V; i += SMP_WG) {
      if (smp_key_of(smp_logits[base + i], 1.0) == best) {
        first = min(first, i);
      }
    }
    first = smp_reduce_u(first, lid, 2u);
    if (lid == 0u) {
      smp_ids[b] = first;
      smp_aux[b * 3u] = best;
      smp_aux[b * 3u + 1u] = 1u;
    }
    return;
  }

  let temp = s.temperature;
  var kmax = 0u;
  for (var i = lid; i < V; i += SMP_WG) {
    kmax = max(kmax, smp_key_of(smp_logits[base + i], temp));
  }
  let zmax = smp_unkey(smp_reduce_u(kmax, lid, 1u));

  // top-k: the largest t with count(key >= t) >= k is the k-th largest key, built bit by bit from the top.
  var tk = 0u;
  if (s.top_k != 0u && s.top_k < V) {
    for (var bit = 31i; bit >= 0i; bit--) {
      let cand = tk | (1u << u32(bit));
      let n = smp_count(base, cand, temp, lid);
      tk = select(tk, cand, n >= s.top_k);
    }
  }

  // top-p: the largest t >= tk whose mass reaches top_p of the top-k survivors' mass (mass > 0 keeps >= 1 token).
  var t = tk;
  if (s.top_p < 1.0) {
    let need = s.top_p * smp_mass(base, tk, temp, zmax, lid);
    var tp = 0u;
    for (var bit = 31i; bit >= 0i; bit--) {
      let cand = tp | (1u << u32(bit));
      let m = smp_mass(base, max(cand, tk), temp, zmax, lid);
      tp = select(tp, cand, m > 0.0 && m >= need);
    }
    t = max(tp, tk);
  }
  // min-p: keep z >= zmax + ln(min_p), i.e. p >= min_p * p_max; a row with nothing finite has no max to measure from.
  if (s.min_p_log <= 0.0 && smp_finite(zmax)) {
    t = max(t, smp_key(zmax + s.min_p_log));
  }
  let kept = smp_count(base, t, temp, lid);

  // The draw: contiguous chunks in token order, a serial (fixed-order) exclusive scan of their masses, then the one
  // invocation whose interval [scan[lid], scan[lid+1]) holds u * total walks its chunk to the token.
  let chunk = (V + SMP_WG - 1u) / SMP_WG;
  let lo = min(lid * chunk, V);
  let hi = min(lo + chunk, V);
  var m = 0.0;
  var last = 0u;
  for (var i = lo; i < hi; i++) {
    let l = smp_logits[base + i];
    let w = smp_weight_of(l, temp, zmax);
    if (smp_key_of(l, temp) >= t && w > 0.0) {
      m += w;
      last = i + 1u;
    }
  }
  atomicMax(&smp_last, last);
  smp_red_f[lid] = m;
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0.0;
    for (var i = 0u; i < SMP_WG; i++) {
      smp_scan[i] = acc;
      acc += smp_red_f[i];
    }
    smp_scan[SMP_WG] = acc;
  }
  workgroupBarrier();
  let target_mass = smp_uniform(s.seed, s.step) * smp_scan[SMP_WG];
  let start = smp_scan[lid];
  if (start <= target_mass && target_mass < smp_scan[lid + 1u]) {
    // Same additions in the same order as m above, so start + cum reaches scan[lid + 1] by the chunk's end.
    var cum = 0.0;
    for (var i = lo; i < hi; i++) {
      let l = smp_logits[base + i];
      let w = smp_weight_of(l, temp, zmax);
      if (smp_key_of(l, temp) >= t && w > 0.0) {
        cum += w;
        if (start + cum > target_mass) {
          atomicStore(&smp_pick, i);
          break;
        }
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    var id = atomicLoad(&smp_pick);
    if (id == 0xffffffffu) {
      id = max(atomicLoad(&smp_last), 1u) - 1u;  // only by rounding: the last eligible token with mass
    }
    smp_ids[b] = id;
    smp_aux[b * 3u] = t;
    smp_aux[b * 3u + 1u] = kept;
  }
}
