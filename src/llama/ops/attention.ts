// Records shaders/attention.wgsl: causal grouped-query attention over packed sequences (forward, and the three
// backward dispatches), choosing tile sizes per head dim so workgroup memory stays within 16 KiB.
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

/** The WGSL side's ATT_WG (invocations per workgroup) and ATT_ACC (private accumulator slots per invocation). */
const WG = 64;
const ACC = 32;
/** WebGPU's guaranteed maxComputeWorkgroupStorageSize; every adapter (SwiftShader included) has at least this. */
const WORKGROUP_BYTES = 16384;
const SIZES = [64, 48, 32, 24, 16, 12, 8, 6, 4, 2, 1];
export const ATTENTION_MAX_D = 256; // Gemma 3's head_dim

export interface AttentionTile {
  BQ: number; // queries per tile
  BK: number; // keys per tile
}

export interface AttentionTiles {
  forward: AttentionTile;
  backward: AttentionTile; // attention_backward_dkdv and attention_backward_dq
}

/** The largest BQ x BK tile whose workgroup floats fit and whose [accRows(tile), D] block fits the private slots. */
function pick(D: number, floats: (t: AttentionTile) => number, accRows: (t: AttentionTile) => number): AttentionTile {
  let best: AttentionTile | null = null;
  for (const BQ of SIZES) {
    for (const BK of SIZES) {
      const t = { BQ, BK };
      if (floats(t) * 4 > WORKGROUP_BYTES || accRows(t) * D > WG * ACC) continue;
      const better =
        !best ||
        BQ * BK > best.BQ * best.BK ||
        (BQ * BK === best.BQ * best.BK && Math.abs(BQ - BK) < Math.abs(best.BQ - best.BK));
      if (better) best = t;
    }
  }
  if (!best) throw new Error(`attention: no tile fits D=${D}`);
  return best;
}

const cache = new Map<number, AttentionTiles>();

/** Tile sizes per head dim (D=64: forward 24x24, backward 16x12; D=128: 16x12 and 8x6). */
export function attentionTiles(D: number): AttentionTiles {
  if (!Number.isInteger(D) || D < 1 || D > ATTENTION_MAX_D) throw new Error(`attention: head dim ${D} is not in 1..${ATTENTION_MAX_D}`);
  let t = cache.get(D);
  if (!t) {
    t = {
      // att_q, att_k [.,D]; att_s [BQ,BK]; att_lo, att_m, att_l, att_alpha [BQ]
      forward: pick(D, ({ BQ, BK }) => (BQ + BK) * D + BQ * BK + 4 * BQ, ({ BQ }) => BQ),
      // att_q, att_do, att_k, att_v [.,D]; att_s, att_ds [BQ,BK]; att_lo, att_m, att_l [BQ]; dq owns [BQ,D],
      // dkdv owns [BK,D] twice (two arrays of ACC slots)
      backward: pick(D, ({ BQ, BK }) => 2 * (BQ + BK) * D + 2 * BQ * BK + 3 * BQ, ({ BQ, BK }) => Math.max(BQ, BK)),
    };
    cache.set(D, t);
  }
  return t;
}

export interface AttentionShape {
  T: number; // tokens, all sequences packed
  H: number; // query heads
  KV: number; // kv heads, H % KV == 0
  D: number; // head dim, 1..256
  /** Scores' scale; 1/√D unless the model says otherwise (Gemma: query_pre_attn_scalar^−½). */
  scale?: number;
}

export interface AttentionForwardArgs extends AttentionShape {
  q: Bind; // [T,H,D] f32, after RoPE
  k: Bind; // [T,KV,D] f32, after RoPE
  v: Bind; // [T,KV,D] f32
  seqStart: Bind; // [T] u32 first token of each token's sequence, non-decreasing
  out: Bind; // [T,H,D] f32, written
  lse: Bind; // [H,T] f32, written: log-sum-exp of each row's scaled scores, kept for the backward
}

export interface AttentionBackwardArgs extends AttentionShape {
  dout: Bind; // [T,H,D] f32
  q: Bind; // [T,H,D] f32
  k: Bind; // [T,KV,D] f32
  v: Bind; // [T,KV,D] f32
  out: Bind; // [T,H,D] f32 from attention_forward
  lse: Bind; // [H,T] f32 from attention_forward
  seqStart: Bind; // [T] u32
  dq: Bind; // [T,H,D] f32, written (not accumulated)
  dk: Bind; // [T,KV,D] f32, written, summed over the H/KV query heads of each kv head
  dv: Bind; // [T,KV,D] f32, written, likewise
  delta: Bind; // [2,H,T] f32 scratch: rowsum(dout * out), then a copy of lse (see attentionDeltaFloats)
}

/** Floats the backward's `delta` scratch needs: delta and lse side by side, so dk/dv bind 8 storage buffers. */
export function attentionDeltaFloats(T: number, H: number): number {
  return 2 * H * T;
}

function check(s: AttentionShape): void {
  const { T, H, KV, D } = s;
  if (!(T >= 1 && H >= 1 && KV >= 1 && H % KV === 0)) throw new Error(`attention: bad shape T=${T} H=${H} KV=${KV}`);
  attentionTiles(D);
}

const params = (s: AttentionShape) => [s.T, s.H, s.KV, f32(s.scale ?? 1 / Math.sqrt(s.D))];
const constants = (D: number, t: AttentionTile) => ({ ATT_D: D, ATT_BQ: t.BQ, ATT_BK: t.BK });

/** out = softmax(q kᵀ / sqrt(D), causal within each packed sequence) v, and lse per (head, query). */
export async function attention_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: AttentionForwardArgs): Promise<void> {
  check(a);
  const t = attentionTiles(a.D).forward;
  const buffers = [a.q, a.k, a.v, a.seqStart, a.out, a.lse];
  await kernels.dispatch(pass, 'attention_forward', buffers, params(a), [Math.ceil(a.T / t.BQ), a.H], constants(a.D, t));
}

/** dq, dk, dv of attention_forward, in three dispatches (delta, then dk/dv per key tile, then dq per query tile). */
export async function attention_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: AttentionBackwardArgs): Promise<void> {
  check(a);
  const t = attentionTiles(a.D).backward;
  const p = params(a);
  const c = constants(a.D, t);
  await kernels.dispatch(pass, 'attention_backward_delta', [a.dout, a.out, a.lse, a.delta], p, [Math.ceil(a.T / WG), a.H], {
    ATT_D: a.D,
  });
  const common = [a.dout, a.q, a.k, a.v, a.seqStart, a.delta];
  await kernels.dispatch(pass, 'attention_backward_dkdv', [...common, a.dk, a.dv], p, [Math.ceil(a.T / t.BK), a.KV], c);
  await kernels.dispatch(pass, 'attention_backward_dq', [...common, a.dq], p, [Math.ceil(a.T / t.BQ), a.H], c);
}
