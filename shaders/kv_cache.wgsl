// Generation over a slot-based KV cache: kv_cache_write stores a batch's new keys/values at (slot, pos), and
// attention_cached lets each query attend to a shared prefix slot and then to its own slot, chunk by chunk.
//
// Cache [S,L,KV,D]: index ((s*L + j)*KV + g)*D + d. meta [T,4] u32 = (slot, pos, prefixSlot, prefixLen): query t
// sees prefixSlot's entries 0..prefixLen-1, then slot's entries 0..pos. A slot >= S (or pos >= L) marks an inactive
// query: nothing is written and its output is zero. A prefix may run on through the slots after prefixSlot (a P longer
// than the slots, as the teacher pass lays it out): prefixLen is clamped to (S - prefixSlot) * L; a prefixSlot >= S
// means no prefix.

// ---- kv_cache_write: one invocation per element of k (and v), grid from grid1d(T*KV*D, 256)

struct KvcWriteParams {
  T: u32,
  S: u32,    // slots
  L: u32,    // entries per slot
  KV: u32,   // kv heads
  D: u32,    // head dim
  row: u32,  // invocations per grid row (x workgroups * 256), for grids that spill into y
}

@group(0) @binding(0) var<storage, read> kvc_wk: array<f32>;            // [T,KV,D] new keys (after RoPE)
@group(0) @binding(1) var<storage, read> kvc_wv: array<f32>;            // [T,KV,D] new values
@group(0) @binding(2) var<storage, read> kvc_wmeta: array<u32>;         // [T,4] (slot, pos, prefixSlot, prefixLen)
@group(0) @binding(3) var<storage, read_write> kvc_wkc: array<f32>;     // [S,L,KV,D] key cache, rows (slot,pos) written
@group(0) @binding(4) var<storage, read_write> kvc_wvc: array<f32>;     // [S,L,KV,D] value cache, likewise
@group(0) @binding(5) var<uniform> kvc_wp: KvcWriteParams;

@compute @workgroup_size(256)
fn kv_cache_write(@builtin(global_invocation_id) gid: vec3u) {
  let idx = gid.y * kvc_wp.row + gid.x;
  let n = kvc_wp.KV * kvc_wp.D;
  if (idx >= kvc_wp.T * n) {
    return;
  }
  let t = idx / n;
  let slot = kvc_wmeta[t * 4u];
  let pos = kvc_wmeta[t * 4u + 1u];
  if (slot >= kvc_wp.S || pos >= kvc_wp.L) {
    return;
  }
  let dst = (slot * kvc_wp.L + pos) * n + idx % n;
  kvc_wkc[dst] = kvc_wk[idx];
  kvc_wvc[dst] = kvc_wv[idx];
}

// ---- attention_cached: one workgroup per (query, block of GB query heads of one kv head), grid (T, KV * blocks).
// The block's heads share every K/V chunk loaded; keys stream through workgroup memory with an online softmax.

struct KvcAttParams {
  T: u32,
  H: u32,      // query heads
  KV: u32,     // kv heads (H % KV == 0)
  S: u32,
  L: u32,
  scale: f32,  // 1 / sqrt(D), or the model's own (Gemma)
  window: u32, // keys seen: the last `window` of the query's sequence, itself included (0xffffffff: all)
}

// Chosen by src/llama/ops/kv_cache.ts so workgroup memory stays <= 16 KiB and [GB,D] fits KVC_ACC slots each.
override KVC_D: u32 = 64u;   // head dim
override KVC_GB: u32 = 8u;   // query heads per workgroup (the last block of a kv head may hold fewer)
override KVC_BK: u32 = 32u;  // keys per chunk
const KVC_WG: u32 = 128u;    // invocations per workgroup
const KVC_ACC: u32 = 8u;     // private accumulator slots per invocation
const KVC_NEG: f32 = -1e30;  // running max before the first key
override KVC_DP = KVC_D + 1u;  // row stride of the chunk: consecutive keys of the score loop hit different banks
override KVC_NQD = (KVC_GB * KVC_D + KVC_WG - 1u) / KVC_WG;   // [GB,D] elements per invocation
override KVC_NKD = (KVC_BK * KVC_D + KVC_WG - 1u) / KVC_WG;   // [BK,D] elements per invocation
override KVC_NP = (KVC_GB * KVC_BK + KVC_WG - 1u) / KVC_WG;   // (head, key) pairs per invocation

var<workgroup> kvc_q: array<f32, KVC_GB * KVC_D>;     // [GB,D] scale * q
var<workgroup> kvc_kv: array<f32, KVC_BK * KVC_DP>;   // [BK,D+1] the chunk's keys, then its values
var<workgroup> kvc_s: array<f32, KVC_GB * KVC_BK>;    // [GB,BK] scores -> probabilities
var<workgroup> kvc_m: array<f32, KVC_GB>;            // [GB] running max
var<workgroup> kvc_l: array<f32, KVC_GB>;            // [GB] running sum
var<workgroup> kvc_alpha: array<f32, KVC_GB>;        // [GB] this chunk's rescale of the accumulator

@group(0) @binding(0) var<storage, read> kvc_q_in: array<f32>;         // [T,H,D] queries (after RoPE)
@group(0) @binding(1) var<storage, read> kvc_kc: array<f32>;           // [S,L,KV,D] key cache
@group(0) @binding(2) var<storage, read> kvc_vc: array<f32>;           // [S,L,KV,D] value cache
@group(0) @binding(3) var<storage, read> kvc_meta: array<u32>;         // [T,4] (slot, pos, prefixSlot, prefixLen)
@group(0) @binding(4) var<storage, read_write> kvc_out: array<f32>;    // [T,H,D] written
@group(0) @binding(5) var<uniform> kvc_p: KvcAttParams;

// Keys n = n0.. of the query's sequence (prefix entries first, then own ones) of kv head g into kvc_kv; zero past
// nKeys. base0/base1: cache rows s*L of the prefix and own slot.
fn kvc_load(n0: u32, nKeys: u32, nPre: u32, base0: u32, base1: u32, g: u32, lid: u32, values: bool) {
  let KV = kvc_p.KV;
  for (var c = 0u; c < KVC_NKD; c++) {
    let e = lid + KVC_WG * c;
    if (e < KVC_BK * KVC_D) {
      let j = e / KVC_D;
      let d = e % KVC_D;
      let n = n0 + j;
      var x = 0.0;
      if (n < nKeys) {
        let row = select(base1 + n - nPre, base0 + n, n < nPre);
        let i = (row * KV + g) * KVC_D + d;
        if (values) { x = kvc_vc[i]; } else { x = kvc_kc[i]; }
      }
      kvc_kv[j * KVC_DP + d] = x;
    }
  }
}

@compute @workgroup_size(128)
fn attention_cached(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let H = kvc_p.H; let KV = kvc_p.KV; let S = kvc_p.S; let L = kvc_p.L;
  let G = H / KV;
  let blocks = (G + KVC_GB - 1u) / KVC_GB;
  let t = wg.x;
  let g = wg.y / blocks;
  let h0 = g * G + (wg.y % blocks) * KVC_GB;        // first query head of this workgroup
  let nh = min(KVC_GB, (g + 1u) * G - h0);          // heads in this block
  let slot = kvc_meta[t * 4u];
  let pos = kvc_meta[t * 4u + 1u];
  let pslot = kvc_meta[t * 4u + 2u];
  let live = slot < S && pos < L;
  var nPre = 0u;
  if (live && pslot < S) { nPre = min(kvc_meta[t * 4u + 3u], (S - pslot) * L); }
  var nKeys = 0u;
  if (live) { nKeys = nPre + pos + 1u; }
  // A sliding window skips the keys it no longer sees; the cache keeps them (other layers may see them).
  var nFirst = 0u;
  if (nKeys > kvc_p.window) { nFirst = nKeys - kvc_p.window; }
  let base0 = pslot * L;
  let base1 = slot * L;

  for (var c = 0u; c < KVC_NQD; c++) {
    let e = lid + KVC_WG * c;
    if (e < KVC_GB * KVC_D) {
      let i = e / KVC_D;
      var x = 0.0;
      if (i < nh) { x = kvc_q_in[((t * H) + h0 + i) * KVC_D + e % KVC_D] * kvc_p.scale; }
      kvc_q[e] = x;
    }
  }
  if (lid < KVC_GB) {
    kvc_m[lid] = KVC_NEG;
    kvc_l[lid] = 0.0;
  }
  var acc: array<f32, KVC_ACC>;  // this invocation's elements e = lid + WG c of the [GB,D] output block
  for (var n0 = nFirst; n0 < nKeys; n0 += KVC_BK) {
    let jEnd = min(KVC_BK, nKeys - n0);  // keys of this chunk
    workgroupBarrier();  // q is loaded; the previous chunk's readers of kvc_kv and kvc_s are done
    kvc_load(n0, nKeys, nPre, base0, base1, g, lid, false);
    workgroupBarrier();
    for (var c = 0u; c < KVC_NP; c++) {
      let p = lid + KVC_WG * c;
      if (p < KVC_GB * KVC_BK) {
        let i = p / KVC_BK;
        let j = p % KVC_BK;
        var s = 0.0;
        for (var d = 0u; d < KVC_D; d++) { s += kvc_q[i * KVC_D + d] * kvc_kv[j * KVC_DP + d]; }
        kvc_s[p] = s;
      }
    }
    workgroupBarrier();
    // Values replace keys in kvc_kv while one invocation per head turns its scores into probabilities.
    kvc_load(n0, nKeys, nPre, base0, base1, g, lid, true);
    if (lid < KVC_GB) {
      let r = lid * KVC_BK;
      let mOld = kvc_m[lid];
      var m = mOld;
      for (var j = 0u; j < jEnd; j++) { m = max(m, kvc_s[r + j]); }
      var sum = 0.0;
      for (var j = 0u; j < jEnd; j++) {
        let p = exp(kvc_s[r + j] - m);
        kvc_s[r + j] = p;
        sum += p;
      }
      let alpha = exp(mOld - m);  // 0 on the first chunk
      kvc_alpha[lid] = alpha;
      kvc_l[lid] = kvc_l[lid] * alpha + sum;
      kvc_m[lid] = m;
    }
    workgroupBarrier();
    for (var c = 0u; c < KVC_NQD; c++) {
      let e = lid + KVC_WG * c;
      if (e < KVC_GB * KVC_D) {
        let i = e / KVC_D;
        let d = e % KVC_D;
        var a = acc[c] * kvc_alpha[i];
        for (var j = 0u; j < jEnd; j++) { a += kvc_s[i * KVC_BK + j] * kvc_kv[j * KVC_DP + d]; }
        acc[c] = a;
      }
    }
  }
  for (var c = 0u; c < KVC_NQD; c++) {
    let e = lid + KVC_WG * c;
    let i = e / KVC_D;
    if (e < KVC_GB * KVC_D && i < nh) {
      var o = 0.0;
      if (nKeys > 0u) { o = acc[c] / kvc_l[i]; }
      kvc_out[((t * H) + h0 + i) * KVC_D + e % KVC_D] = o;
    }
  }
}
