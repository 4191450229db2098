// The layers over a KV cache: each token's keys and values are written at its (slot, pos) and it attends to a
// prefix then its own slot (kv_cache.wgsl). Generation's passes and the teacher pass over a shared P both run
// their layers this way, so a prefix computed once serves every sequence behind it.
import type { Kernels } from '../gpu/kernel';
import type { LlamaEngine } from './engine';
import type { KvCache } from './kv-cache';
import { layerForward, type Attend, type LayerActs, type LoraFor, type Scratch } from './layer';
import { attention_cached, kv_cache_write } from './ops/kv_cache';

export interface CachedPass {
  T: number;
  ids: GPUBuffer; // [T] u32 token ids
  pos: GPUBuffer; // [T] u32 RoPE positions (after the prefix)
  meta: GPUBuffer; // [T,4] u32 (slot, pos, prefixSlot, prefixLen), as kv_cache.wgsl reads it
  seqStart: GPUBuffer; // [T] never read (the cache's attention masks by meta), but the batch carries one
  xs: GPUBuffer[]; // two [T,C] residual buffers, alternated by layer
  acts: LayerActs;
  scratch: Pick<Scratch, 'tmp'>;
}

/** Records embedding and every layer over the cache into `pass`; returns the buffer holding the last layer's output. */
export async function cachedLayers(engine: LlamaEngine, cache: KvCache, pass: GPUComputePassEncoder, b: CachedPass, lora: LoraFor): Promise<GPUBuffer> {
  const k: Kernels = engine.kernels;
  const cfg = engine.cfg;
  const { T } = b;
  const { S, L } = cache.shape;
  const { numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const attend: Attend = async (p, l, a) => {
    await kv_cache_write(k, p, { k: a.k, v: a.v, kcache: cache.k[l], vcache: cache.v[l], meta: b.meta, T, S, L, KV, D });
    const g = cfg.gemma;
    const sliding = g ? { scale: 1 / Math.sqrt(g.queryPreAttnScalar), window: g.sliding[l] ? g.slidingWindow : undefined } : {};
    await attention_cached(k, p, { q: a.q, kcache: cache.k[l], vcache: cache.v[l], meta: b.meta, out: a.att, T, H, KV, S, L, D, ...sliding });
  };
  // The cache's attention applies the window itself: seqStartLocal is never read here, so seqStart stands in.
  const bb = { T, pos: b.pos, seqStart: b.seqStart, invFreq: engine.invFreq, seqStartLocal: b.seqStart, invFreqLocal: engine.invFreqLocal ?? undefined };
  await engine.embed(pass, b.ids, b.xs[0], T);
  for (let l = 0; l < cfg.numLayers; l++) {
    await layerForward(k, pass, cfg, engine.weights.layers[l], l, b.xs[l % 2], b.xs[(l + 1) % 2], b.acts, b.scratch as Scratch, bb, lora, attend);
  }
  return b.xs[cfg.numLayers % 2];
}
