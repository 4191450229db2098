// The whole decoder in float64, composed from the per-kernel references: logits, the weighted loss (cross-entropy,
// plus top-K distillation when the batch carries teacher targets) and every LoRA gradient, for comparing the GPU
// engine end to end on tiny models. Slow and simple on purpose. Gemma 3 composes the same pieces differently: norms
// as 1 + w, after attention and the MLP too, GeGLU, its own attention scale, sliding windows with a local RoPE base.
import type { ModelConfig } from '../model/config';
import { loraSeed, type LoraLayout, type LoraSlot, type LoraTarget } from '../llama/lora';
import type { PackedBatch } from '../llama/batch';
import { add_forward } from './add';
import { attention_backward, attention_forward } from './attention';
import { cross_entropy_backward, cross_entropy_forward } from './cross_entropy';
import { embedding_forward } from './embedding';
import { geglu_backward, geglu_forward, swiglu_backward, swiglu_forward } from './gated';
import { kl_topk_backward, kl_topk_forward } from './kl_topk';
import { lora_backward, lora_forward } from './lora';
import { matmul_backward, matmul_forward } from './matmul';
import { rmsnorm_backward, rmsnorm_forward } from './rmsnorm';
import { rope_backward, rope_forward, rope_inv_freq } from './rope';

type F64 = Float64Array;

export interface RefLayer {
  inNorm: F64; postNorm: F64; // [C]
  q: F64; k: F64; v: F64; o: F64; // [H*D,C] [KV*D,C] [KV*D,C] [C,H*D]
  qBias: F64 | null; kBias: F64 | null; vBias: F64 | null; oBias: F64 | null;
  qNorm: F64 | null; kNorm: F64 | null; // [D], Qwen3's and Gemma's per-head q/k norm
  preFfNorm: F64 | null; postFfNorm: F64 | null; // [C], Gemma's norms before and after the MLP
  gate: F64; up: F64; down: F64; // [F,C] [F,C] [C,F]
}

export interface RefModel {
  cfg: ModelConfig;
  embed: F64; // [V,C]
  lmHead: F64; // [V,C] (the embedding when tied)
  norm: F64; // [C]
  layers: RefLayer[];
}

export interface RefLora {
  layout: LoraLayout;
  params: ArrayLike<number>; // [P]
  /** Dropout is applied when training with a seed; never for logits. */
  dropoutSeed?: number;
}

interface LayerCache {
  x: F64; n1: F64; rstd1: F64; q: F64; k: F64; v: F64; att: F64; lse: F64;
  /** q and k before the per-head norm, and its rstd per (token, head); Qwen3 only. */
  qp: F64; kp: F64; rstdq: F64; rstdk: F64;
  mid: F64; n2: F64; rstd2: F64; g: F64; u: F64; h: F64;
  /** Gemma: o_proj's and down_proj's outputs before their norms, and those norms' rstd. */
  ao: F64; rstdA: F64; dd: F64; rstdD: F64;
  loraU: Map<LoraTarget, F64>;
}

export interface RefForward {
  logits: F64; // [T,V]
  loss: number;
  losses: F64; // [T] per-token cross-entropy (0 where ignored)
  /** Σ weight·KL over the batch's distilled tokens; 0 without teacher targets. Included in `loss`. */
  klLoss: number;
  klLosses: F64; // [T] per-token KL (0 where not distilled)
  lse: F64;
  final: F64; // [T,C] the last residual stream, before the final norm
  nf: F64;
  rstdf: F64;
  layers: LayerCache[];
}

function loraOf(lora: RefLora | null, layer: number, target: LoraTarget): LoraSlot | undefined {
  return lora?.layout.slots.find((s) => s.layer === layer && s.target === target);
}

function slice(p: ArrayLike<number>, off: number, n: number): F64 {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = p[off + i];
  return out;
}

function dropoutOf(lora: RefLora, slot: LoraSlot): { p: number; seed: number } {
  return lora.dropoutSeed === undefined ? { p: 0, seed: 0 } : { p: lora.layout.spec.dropout, seed: loraSeed(lora.dropoutSeed, slot) };
}

function project(x: F64, W: F64, bias: F64 | null, T: number, K: number, N: number, lora: RefLora | null,
  layer: number, target: LoraTarget, saved: Map<LoraTarget, F64>): F64 {
  const y = matmul_forward(x, W, bias, T, K, N);
  const slot = loraOf(lora, layer, target);
  if (!slot || !lora) return y;
  const R = lora.layout.spec.rank;
  const { p, seed } = dropoutOf(lora, slot);
  const d = lora_forward(x, slice(lora.params, slot.aOffset, R * K), slice(lora.params, slot.bOffset, N * R),
    lora.layout.scale, p, seed, T, K, N, R);
  saved.set(target, d.u);
  return add_forward(y, d.y);
}

/** Per layer: the norm weights as applied (Gemma's 1 + w), the RoPE frequencies, the attention scale and window. */
function layerSetup(m: RefModel, l: number) {
  const { headDim: D, ropeTheta, ropeScaling, gemma } = m.cfg;
  const w = m.layers[l];
  const nw = (x: F64 | null): F64 | null => (x && gemma ? x.map((v) => 1 + v) : x);
  const local = gemma?.sliding[l] ?? false;
  return {
    inNorm: nw(w.inNorm)!, postNorm: nw(w.postNorm)!, qNorm: nw(w.qNorm), kNorm: nw(w.kNorm),
    preFfNorm: nw(w.preFfNorm), postFfNorm: nw(w.postFfNorm),
    // Sliding layers rotate with plain RoPE at the local base (no scaling), as transformers does.
    invFreq: local ? rope_inv_freq(D, gemma!.ropeLocalTheta, null) : rope_inv_freq(D, ropeTheta, ropeScaling),
    scale: gemma ? 1 / Math.sqrt(gemma.queryPreAttnScalar) : 1 / Math.sqrt(D),
    window: local ? gemma!.slidingWindow : Infinity,
  };
}

const finalNorm = (m: RefModel): F64 => (m.cfg.gemma ? m.norm.map((v) => 1 + v) : m.norm);

export function llama_forward(m: RefModel, lora: RefLora | null, b: PackedBatch): RefForward {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V } = m.cfg;
  const T = b.T;
  const eps = m.cfg.rmsNormEps;
  const gemma = m.cfg.gemma !== undefined;
  let x = embedding_forward(b.ids, m.embed, T, C);
  if (gemma) x = x.map((v) => v * Math.sqrt(C));
  const layers: LayerCache[] = [];
  m.layers.forEach((w, l) => {
    const loraU = new Map<LoraTarget, F64>();
    const ws = layerSetup(m, l);
    const invFreq = ws.invFreq;
    const none = { y: new Float64Array(0), rstd: new Float64Array(0) };
    const { y: n1, rstd: rstd1 } = rmsnorm_forward(x, ws.inNorm, eps, T, C);
    const qp = project(n1, w.q, w.qBias, T, C, H * D, lora, l, 'q', loraU);
    const kp = project(n1, w.k, w.kBias, T, C, KV * D, lora, l, 'k', loraU);
    // Qwen3: each head's q and k RMS-normed over D, before RoPE.
    const qn = ws.qNorm ? rmsnorm_forward(qp, ws.qNorm, eps, T * H, D) : { y: qp, rstd: new Float64Array(0) };
    const kn = ws.kNorm ? rmsnorm_forward(kp, ws.kNorm, eps, T * KV, D) : { y: kp, rstd: new Float64Array(0) };
    const q = rope_forward(qn.y, b.pos, invFreq, T, H, D);
    const k = rope_forward(kn.y, b.pos, invFreq, T, KV, D);
    const v = project(n1, w.v, w.vBias, T, C, KV * D, lora, l, 'v', loraU);
    const { out: att, lse } = attention_forward(q, k, v, b.seqStart, T, H, KV, D, ws.scale, ws.window);
    const ao = project(att, w.o, w.oBias, T, H * D, C, lora, l, 'o', loraU);
    // Gemma norms the attention's output before the residual adds it, and likewise the MLP's.
    const an = gemma ? rmsnorm_forward(ao, ws.postNorm, eps, T, C) : none;
    const mid = add_forward(x, gemma ? an.y : ao);
    const { y: n2, rstd: rstd2 } = rmsnorm_forward(mid, gemma ? ws.preFfNorm! : ws.postNorm, eps, T, C);
    const g = project(n2, w.gate, null, T, C, F, lora, l, 'gate', loraU);
    const u = project(n2, w.up, null, T, C, F, lora, l, 'up', loraU);
    const h = gemma ? geglu_forward(g, u, T, F) : swiglu_forward(g, u, T, F);
    const dd = project(h, w.down, null, T, F, C, lora, l, 'down', loraU);
    const dn = gemma ? rmsnorm_forward(dd, ws.postFfNorm!, eps, T, C) : none;
    const next = add_forward(mid, gemma ? dn.y : dd);
    layers.push({ x, n1, rstd1, q, k, v, att, lse, qp, kp, rstdq: qn.rstd, rstdk: kn.rstd, mid, n2, rstd2, g, u, h, ao, rstdA: an.rstd, dd, rstdD: dn.rstd, loraU });
    x = next;
  });
  const { y: nf, rstd: rstdf } = rmsnorm_forward(x, finalNorm(m), eps, T, C);
  const logits = matmul_forward(nf, m.lmHead, null, T, C, V);
  const ce = cross_entropy_forward(logits, b.targets, b.weights, T, V);
  const kl = b.kl ? kl_topk_forward(logits, b.kl.ids, b.kl.logp, b.kl.weights, T, V, b.kl.K) : { loss: 0, losses: new Float64Array(T) };
  return { logits, loss: ce.loss + kl.loss, losses: ce.losses, klLoss: kl.loss, klLosses: kl.losses, lse: ce.lse, final: x, nf, rstdf, layers };
}

/** d(loss)/d(LoRA params), [P] in the layout's order. */
export function llama_backward(m: RefModel, lora: RefLora, b: PackedBatch, fwd: RefForward): F64 {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V } = m.cfg;
  const T = b.T;
  const R = lora.layout.spec.rank;
  const grads = new Float64Array(lora.layout.size);
  const gemma = m.cfg.gemma !== undefined;

  // The gradient into a projection's input: base weight plus, when adapted, the LoRA path (whose A, B grads land in `grads`).
  const projBack = (dy: F64, x: F64, W: F64, K: number, N: number, l: number, target: LoraTarget, cache: LayerCache): F64 => {
    const dx = matmul_backward(dy, W, T, K, N);
    const slot = loraOf(lora, l, target);
    if (!slot) return dx;
    const { p, seed } = dropoutOf(lora, slot);
    const r = lora_backward(dy, x, cache.loraU.get(target)!, slice(lora.params, slot.aOffset, R * K),
      slice(lora.params, slot.bOffset, N * R), lora.layout.scale, p, seed, T, K, N, R);
    grads.set(r.dA, slot.aOffset);
    grads.set(r.dB, slot.bOffset);
    return add_forward(dx, r.dx);
  };

  const dlogits = cross_entropy_backward(fwd.logits, b.targets, b.weights, fwd.lse, T, V);
  if (b.kl) {
    const dkl = kl_topk_backward(fwd.logits, b.kl.ids, b.kl.logp, b.kl.weights, T, V, b.kl.K);
    for (let i = 0; i < dlogits.length; i++) dlogits[i] += dkl[i];
  }
  const dnf = matmul_backward(dlogits, m.lmHead, T, C, V);
  let dx = rmsnorm_backward(dnf, fwd.final, finalNorm(m), fwd.rstdf, T, C);
  for (let l = m.layers.length - 1; l >= 0; l--) {
    const w = m.layers[l];
    const ws = layerSetup(m, l);
    const c = fwd.layers[l];
    const ddd = gemma ? rmsnorm_backward(dx, c.dd, ws.postFfNorm!, c.rstdD, T, C) : dx;
    const dh = projBack(ddd, c.h, w.down, F, C, l, 'down', c);
    const { dgate, dup } = gemma ? geglu_backward(dh, c.g, c.u, T, F) : swiglu_backward(dh, c.g, c.u, T, F);
    const dn2 = add_forward(projBack(dgate, c.n2, w.gate, C, F, l, 'gate', c), projBack(dup, c.n2, w.up, C, F, l, 'up', c));
    const dmid = add_forward(dx, rmsnorm_backward(dn2, c.mid, gemma ? ws.preFfNorm! : ws.postNorm, c.rstd2, T, C));
    const dao = gemma ? rmsnorm_backward(dmid, c.ao, ws.postNorm, c.rstdA, T, C) : dmid;
    const datt = projBack(dao, c.att, w.o, H * D, C, l, 'o', c);
    const { dq, dk, dv } = attention_backward(datt, c.q, c.k, c.v, c.att, c.lse, b.seqStart, T, H, KV, D, ws.scale, ws.window);
    let dqPre = rope_backward(dq, b.pos, ws.invFreq, T, H, D);
    let dkPre = rope_backward(dk, b.pos, ws.invFreq, T, KV, D);
    if (ws.qNorm) dqPre = rmsnorm_backward(dqPre, c.qp, ws.qNorm, c.rstdq, T * H, D);
    if (ws.kNorm) dkPre = rmsnorm_backward(dkPre, c.kp, ws.kNorm, c.rstdk, T * KV, D);
    let dn1 = projBack(dqPre, c.n1, w.q, C, H * D, l, 'q', c);
    dn1 = add_forward(dn1, projBack(dkPre, c.n1, w.k, C, KV * D, l, 'k', c));
    dn1 = add_forward(dn1, projBack(dv, c.n1, w.v, C, KV * D, l, 'v', c));
    dx = add_forward(dmid, rmsnorm_backward(dn1, c.x, ws.inNorm, c.rstd1, T, C));
  }
  return grads;
}
