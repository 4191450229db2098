// Records shaders/kv_cache.wgsl: storing a batch's keys/values into the slot-based KV cache, and attention of each
// query over a prefix slot and its own slot (decode and prefill), with tiles chosen per (H/KV, D) to fit 16 KiB.
import { grid1d } from '../../gpu/dispatch';
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

/** The WGSL side's KVC_WG (invocations per workgroup) and KVC_ACC (private accumulator slots per invocation). */
const WG = 128;
const ACC = 8;
/** WebGPU's guaranteed maxComputeWorkgroupStorageSize, in floats. */
const WORKGROUP_FLOATS = 16384 / 4;
const MAX_GB = 8;
const MAX_BK = 64;
export const KV_CACHE_MAX_D = 256; // Gemma 3's head_dim (up to 4 query heads per kv head)

/** Query heads per workgroup (GB, `blocks` of them per kv head) and keys per chunk (BK). */
export interface KvCacheTile {
  GB: number;
  blocks: number;
  BK: number;
}

/**
 * The tile for H/KV query heads per kv head and head dim D: the kv head's query heads split into balanced blocks of
 * at most 8, and the longest key chunk whose [BK,D+1] rows fit beside q [GB,D] and scores [GB,BK] in 16 KiB
 * (D=64, GB=7: BK=50; D=128, GB=8: BK=22).
 */
export function kvCacheTile(H: number, KV: number, D: number): KvCacheTile {
  if (!Number.isInteger(D) || D < 1 || D > KV_CACHE_MAX_D) throw new Error(`kv_cache: head dim ${D} is not in 1..${KV_CACHE_MAX_D}`);
  if (!(KV >= 1 && H >= KV && H % KV === 0)) throw new Error(`kv_cache: H=${H} is not a multiple of KV=${KV}`);
  const G = H / KV;
  const blocks = Math.ceil(G / MAX_GB);
  const GB = Math.ceil(G / blocks);
  // kvc_q [GB,D], kvc_kv [BK,D+1], kvc_s [GB,BK], kvc_m/l/alpha [GB]
  const BK = Math.min(MAX_BK, Math.floor((WORKGROUP_FLOATS - GB * D - 3 * GB) / (D + 1 + GB)));
  if (GB * D > WG * ACC || BK < 1) throw new Error(`kv_cache: no tile fits GB=${GB} D=${D}`);
  return { GB, blocks, BK };
}

export interface KvCacheShape {
  T: number; // queries (decode: one per active sequence; prefill: the prompt tokens of one or more sequences)
  KV: number; // kv heads
  S: number; // slots in the cache
  L: number; // entries per slot
  D: number; // head dim, 1..256
}

export interface KvCacheWriteArgs extends KvCacheShape {
  k: Bind; // [T,KV,D] f32 new keys, after RoPE
  v: Bind; // [T,KV,D] f32 new values
  meta: Bind; // [T,4] u32 (slot, pos, prefixSlot, prefixLen); row (slot, pos) is written; slot >= S: skipped
  kcache: Bind; // [S,L,KV,D] f32, rows (slot, pos) overwritten, every other row untouched
  vcache: Bind; // [S,L,KV,D] f32, likewise
}

export interface AttentionCachedArgs extends KvCacheShape {
  H: number; // query heads, a multiple of KV
  q: Bind; // [T,H,D] f32, after RoPE
  kcache: Bind; // [S,L,KV,D] f32, keys stored after RoPE
  vcache: Bind; // [S,L,KV,D] f32
  meta: Bind; // [T,4] u32 (slot, pos, prefixSlot, prefixLen); query sees prefix entries 0..prefixLen-1, own 0..pos
  out: Bind; // [T,H,D] f32, written (zeros for an inactive query: slot >= S or pos >= L)
  /** Scores' scale; 1/√D unless the model says otherwise (Gemma: query_pre_attn_scalar^−½). */
  scale?: number;
  /** Gemma's sliding layers: only the last `window` keys of the query's sequence (itself included) are seen. */
  window?: number;
}

function checkShape(entry: string, s: KvCacheShape): void {
  const { T, KV, S, L, D } = s;
  if (![T, KV, S, L, D].every((x) => Number.isInteger(x) && x >= 1)) {
    throw new Error(`${entry}: bad shape T=${T} KV=${KV} S=${S} L=${L} D=${D}`);
  }
  if (S * L * KV * D >= 2 ** 32) throw new Error(`${entry}: a cache of ${S}x${L}x${KV}x${D} floats overflows u32 indexing`);
}

/**
 * kcache[slot, pos] = k[t], vcache[slot, pos] = v[t] for every query t. Record it before attention_cached in the same
 * pass (dispatches in a pass see each other's writes), so prefill queries see the keys of the tokens before them.
 */
export async function kv_cache_write(kernels: Kernels, pass: GPUComputePassEncoder, a: KvCacheWriteArgs): Promise<void> {
  checkShape('kv_cache_write', a);
  const g = grid1d(a.T * a.KV * a.D, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  const buffers = [a.k, a.v, a.meta, a.kcache, a.vcache];
  await kernels.dispatch(pass, 'kv_cache_write', buffers, [a.T, a.S, a.L, a.KV, a.D, g.row], [g.x, g.y]);
}

/**
 * out[t,h] = softmax(q[t,h] · keys / sqrt(D)) values over the prefix slot's first prefixLen entries and the own
 * slot's entries 0..pos, with query head h reading kv head h / (H / KV). Grid (T, KV * blocks): every workgroup
 * streams all of its query's keys, so a long prefill costs T times the keys' reads (fine up to a few hundred tokens).
 */
export async function attention_cached(kernels: Kernels, pass: GPUComputePassEncoder, a: AttentionCachedArgs): Promise<void> {
  checkShape('attention_cached', a);
  const t = kvCacheTile(a.H, a.KV, a.D);
  const window = a.window ?? 0xffffffff;
  if (!(Number.isInteger(window) && window >= 1 && window <= 0xffffffff)) throw new Error(`attention_cached: window ${window} is not a positive integer`);
  const params = [a.T, a.H, a.KV, a.S, a.L, f32(a.scale ?? 1 / Math.sqrt(a.D)), window];
  const constants = { KVC_D: a.D, KVC_GB: t.GB, KVC_BK: t.BK };
  await kernels.dispatch(pass, 'attention_cached', [a.q, a.kcache, a.vcache, a.meta, a.out], params, [a.T, a.KV * t.blocks], constants);
}
