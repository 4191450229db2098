// float64 reference for shaders/kv_cache.wgsl: the slot-based KV cache that generation attends over, written the
// plain way (one full score row per query and head), so the GPU's chunked online softmax has something to match.
//
// Cache layout: kcache, vcache [S,L,KV,D], index ((s*L + j)*KV + g)*D + d. Per-query meta [T,4] u32 =
// (slot, pos, prefixSlot, prefixLen): the query's own key/value live at (slot, pos); it attends to prefixSlot's
// entries 0..prefixLen-1 (prefixLen = 0: no prefix), then to its own slot's entries 0..pos. A prefix longer than L
// runs on through the next slots (rows prefixSlot*L + j). A slot >= S marks an inactive query: nothing is written
// and its output is zero (the GPU kernels do the same).

interface QueryMeta {
  slot: number;
  pos: number;
  prefixSlot: number;
  prefixLen: number;
}

/** meta row t, checked against the cache's shape; null for an inactive query (slot >= S). */
function queryMeta(meta: ArrayLike<number>, t: number, S: number, L: number): QueryMeta | null {
  const [slot, pos, prefixSlot, prefixLen] = [0, 1, 2, 3].map((i) => meta[t * 4 + i]);
  if (slot >= S) return null;
  if (pos >= L) throw new Error(`kv_cache: query ${t} writes pos ${pos} past the slot length L=${L}`);
  if (prefixLen > 0 && prefixSlot >= S) throw new Error(`kv_cache: query ${t} has prefix slot ${prefixSlot} >= S=${S}`);
  if (prefixLen > (S - prefixSlot) * L) throw new Error(`kv_cache: query ${t} has prefixLen ${prefixLen}, past the cache's end from slot ${prefixSlot}`);
  return { slot, pos, prefixSlot, prefixLen };
}

/**
 * kcache[slot, pos] = k[t] and vcache[slot, pos] = v[t] for every query t, in place.
 * kcache, vcache: [S,L,KV,D] (modified); k, v: [T,KV,D] (after RoPE for k); meta: [T,4].
 */
export function kv_cache_write(
  kcache: Float64Array,
  vcache: Float64Array,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  meta: ArrayLike<number>,
  T: number,
  S: number,
  L: number,
  KV: number,
  D: number,
): void {
  const row = KV * D;
  for (let t = 0; t < T; t++) {
    const m = queryMeta(meta, t, S, L);
    if (!m) continue;
    const dst = (m.slot * L + m.pos) * row;
    for (let i = 0; i < row; i++) {
      kcache[dst + i] = k[t * row + i];
      vcache[dst + i] = v[t * row + i];
    }
  }
}

/**
 * out[t,h] = sum_n softmax_n(q[t,h] · key_n / sqrt(D)) value_n over the keys n of query t: prefixSlot's entries
 * 0..prefixLen-1, then its own slot's entries 0..pos. Query head h reads kv head h / (H / KV).
 * q: [T,H,D]; kcache, vcache: [S,L,KV,D]; meta: [T,4]. Returns out: [T,H,D].
 */
export function attention_cached(
  q: ArrayLike<number>,
  kcache: ArrayLike<number>,
  vcache: ArrayLike<number>,
  meta: ArrayLike<number>,
  T: number,
  H: number,
  KV: number,
  S: number,
  L: number,
  D: number,
): Float64Array {
  if (H % KV !== 0) throw new Error(`attention_cached: H=${H} is not a multiple of KV=${KV}`);
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(T * H * D);
  for (let t = 0; t < T; t++) {
    const m = queryMeta(meta, t, S, L);
    if (!m) continue;
    // Cache rows (s*L + j) of the keys this query sees, in order.
    const rows: number[] = [];
    for (let j = 0; j < m.prefixLen; j++) rows.push(m.prefixSlot * L + j);
    for (let j = 0; j <= m.pos; j++) rows.push(m.slot * L + j);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      const qo = (t * H + h) * D;
      const scores = rows.map((r) => {
        const ko = (r * KV + g) * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += q[qo + d] * kcache[ko + d];
        return s * scale;
      });
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, b) => a + b, 0);
      rows.forEach((r, n) => {
        const vo = (r * KV + g) * D;
        for (let d = 0; d < D; d++) out[qo + d] += (e[n] / sum) * vcache[vo + d];
      });
    }
  }
  return out;
}
