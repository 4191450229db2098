// One decoder layer's forward (saving what its backward needs) and backward, recorded into a compute pass
// (generating, with no LoRA on them, the norm+q,k,v and norm+gate,up,SwiGLU halves take one dispatch each):
//   n1 = rmsnorm(x); q,k,v = proj(n1) (Qwen3: q,k rmsnormed per head) with RoPE on q,k; att = attention(q,k,v);
//   mid = x + proj_o(att)                                  (the add in proj_o's matmul epilogue)
//   n2 = rmsnorm(mid); h = silu(proj_gate(n2)) * proj_up(n2); out = mid + proj_down(h)  (likewise)
// Gemma 3 norms both branches' outputs too (mid = x + rmsnorm(proj_o(att)), out = mid + rmsnorm(proj_down(h))), uses
// GeGLU, its own score scale, and on sliding layers a window (seqStartLocal) and a local RoPE base (invFreqLocal).
import type { Kernels } from '../gpu/kernel';
import type { ModelConfig } from '../model/config';
import type { LoraTarget } from './lora';
import { add_forward } from './ops/add';
import { attention_backward, attention_forward } from './ops/attention';
import { rmsnorm_backward, rmsnorm_forward } from './ops/rmsnorm';
import { FUSED_ROWS_MAX, mlp_gate_forward_rows, qkv_forward_rows } from './ops/fused';
import { rope_backward, rope_forward } from './ops/rope';
import { geglu_backward, geglu_forward, swiglu_backward, swiglu_forward } from './ops/gated';
import { projectBackward, projectForward, type LoraUse } from './project';
import type { GpuWeight, LayerWeights } from './weights-gpu';

/** Saved activations of one layer (shapes in planner.ts's layerActivations, same names). */
export interface LayerActs {
  n1: GPUBuffer; rstd1: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; att: GPUBuffer; lse: GPUBuffer;
  mid: GPUBuffer; n2: GPUBuffer; rstd2: GPUBuffer; g: GPUBuffer; u: GPUBuffer; h: GPUBuffer;
  /** Qwen3's per-head q/k norm: q and k before it, [T,H*D] and [T,KV*D], and its rstd per (token, head). */
  qp?: GPUBuffer; kp?: GPUBuffer; rstdq?: GPUBuffer; rstdk?: GPUBuffer;
  /** Gemma: o_proj's and down_proj's outputs [T,C] before their norms, and those norms' rstd [T]. */
  ao?: GPUBuffer; rstdA?: GPUBuffer; dd?: GPUBuffer; rstdD?: GPUBuffer;
  lora: Partial<Record<LoraTarget, GPUBuffer>>; // [T,R] per adapted target
}

/** Working gradients shared by every layer's backward (backwardScratch in planner.ts), plus tmp [T,C]. */
export interface Scratch {
  tmp: GPUBuffer; dx: GPUBuffer; dn: GPUBuffer; dh: GPUBuffer; dg: GPUBuffer; du: GPUBuffer;
  datt: GPUBuffer; dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer; delta: GPUBuffer; dlora: GPUBuffer;
}

export interface BatchBuffers {
  T: number;
  pos: GPUBuffer; // [T] u32
  seqStart: GPUBuffer; // [T] u32
  invFreq: GPUBuffer; // [D/2] f32
  /** Gemma's sliding layers: each token's first visible key [T] u32, and RoPE at rope_local_base_freq [D/2] f32. */
  seqStartLocal?: GPUBuffer;
  invFreqLocal?: GPUBuffer;
}

/** The adapter for a layer's targets, or null for the base model. */
export type LoraFor = (layer: number, target: LoraTarget, u: GPUBuffer | undefined) => LoraUse | null;

/**
 * Attention of layer l over its rotated q, k and v into a.att: packed causal self-attention when training; over
 * the KV cache (after writing k and v into it) when generating.
 */
export type Attend = (pass: GPUComputePassEncoder, l: number, a: LayerActs) => Promise<void>;

/** Qwen3's q/k norm weights and buffers, or null when the model has none. */
function qkNormOf(cfg: ModelConfig, w: LayerWeights, a: LayerActs) {
  if (!cfg.qkNorm) return null;
  if (!w.qNorm || !w.kNorm || !a.qp || !a.kp || !a.rstdq || !a.rstdk) throw new Error('q/k norm: weights or activations missing');
  return { qNorm: w.qNorm.blocks[0].buffer, kNorm: w.kNorm.blocks[0].buffer, qp: a.qp, kp: a.kp, rstdq: a.rstdq, rstdk: a.rstdk };
}

/** What Gemma changes in layer l: its norms' buffers, and the attention inputs of a sliding or global layer. */
function gemmaOf(cfg: ModelConfig, w: LayerWeights, a: LayerActs, b: BatchBuffers, l: number) {
  const g = cfg.gemma;
  if (!g) return null;
  if (!w.preFfNorm || !w.postFfNorm || !a.ao || !a.rstdA || !a.dd || !a.rstdD) throw new Error('gemma: norm weights or activations missing');
  const local = g.sliding[l];
  if (local && (!b.seqStartLocal || !b.invFreqLocal)) throw new Error(`gemma: layer ${l} slides but the batch has no seqStartLocal/invFreqLocal`);
  return {
    preFf: w.preFfNorm.blocks[0].buffer, postFf: w.postFfNorm.blocks[0].buffer, ao: a.ao, rstdA: a.rstdA, dd: a.dd, rstdD: a.rstdD,
    seqStart: local ? b.seqStartLocal! : b.seqStart, invFreq: local ? b.invFreqLocal! : b.invFreq, scale: 1 / Math.sqrt(g.queryPreAttnScalar),
  };
}

/**
 * Whether a layer half runs fused (shaders/fused.wgsl): only when generating (attend given: no backward reads the
 * norm's output or the projections' outputs), for a decode step's few rows, with no LoRA, no bias and one row block
 * per weight.
 */
function fusable(attend: Attend | undefined, T: number, lora: (LoraUse | null)[], weights: GpuWeight[], biases: (GpuWeight | null)[]): boolean {
  return Boolean(attend) && T <= FUSED_ROWS_MAX && lora.every((u) => !u) && biases.every((b) => !b) && weights.every((wt) => wt.blocks.length === 1);
}

export async function layerForward(kernels: Kernels, pass: GPUComputePassEncoder, cfg: ModelConfig, w: LayerWeights, l: number,
  x: GPUBuffer, out: GPUBuffer, a: LayerActs, s: Scratch, b: BatchBuffers, lora: LoraFor, attend?: Attend): Promise<void> {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, rmsNormEps: eps } = cfg;
  const T = b.T;
  const lf = (t: LoraTarget) => lora(l, t, a.lora[t]);
  const gm = gemmaOf(cfg, w, a, b, l);
  const invFreq = gm?.invFreq ?? b.invFreq;
  const qk = qkNormOf(cfg, w, a);
  const [lq, lk, lv] = [lf('q'), lf('k'), lf('v')];
  // Generation needs neither n1 nor rstd1 afterwards: unadapted, unbiased q, k, v take one dispatch with their norm.
  if (fusable(attend, T, [lq, lk, lv], [w.q, w.k, w.v], [w.qBias, w.kBias, w.vBias])) {
    await qkv_forward_rows(kernels, pass, {
      x, norm: w.inNorm.blocks[0].buffer, eps, T, K: C, wq: w.q.blocks[0].buffer, wk: w.k.blocks[0].buffer, wv: w.v.blocks[0].buffer,
      q: qk?.qp ?? a.q, k: qk?.kp ?? a.k, v: a.v, Nq: w.q.rows, Nk: w.k.rows, Nv: w.v.rows,
    });
  } else {
    await rmsnorm_forward(kernels, pass, { x, w: w.inNorm.blocks[0].buffer, y: a.n1, rstd: a.rstd1, T, C, eps });
    await projectForward(kernels, pass, a.n1, w.q, w.qBias, qk?.qp ?? a.q, T, lq);
    await projectForward(kernels, pass, a.n1, w.k, w.kBias, qk?.kp ?? a.k, T, lk);
    await projectForward(kernels, pass, a.n1, w.v, w.vBias, a.v, T, lv);
  }
  if (qk) {
    // One row per (token, head): the rmsnorm kernel over [T*H, D] is exactly the per-head norm.
    await rmsnorm_forward(kernels, pass, { x: qk.qp, w: qk.qNorm, y: a.q, rstd: qk.rstdq, T: T * H, C: D, eps });
    await rmsnorm_forward(kernels, pass, { x: qk.kp, w: qk.kNorm, y: a.k, rstd: qk.rstdk, T: T * KV, C: D, eps });
  }
  await rope_forward(kernels, pass, { q: a.q, k: a.k, pos: b.pos, invFreq, T, H, KV, D });
  if (attend) await attend(pass, l, a);
  else await attention_forward(kernels, pass, { q: a.q, k: a.k, v: a.v, seqStart: gm?.seqStart ?? b.seqStart, out: a.att, lse: a.lse, T, H, KV, D, scale: gm?.scale });
  if (gm) {
    await projectForward(kernels, pass, a.att, w.o, w.oBias, gm.ao, T, lf('o'));
    await rmsnorm_forward(kernels, pass, { x: gm.ao, w: w.postNorm.blocks[0].buffer, y: s.tmp, rstd: gm.rstdA, T, C, eps });
    await add_forward(kernels, pass, { a: x, b: s.tmp, out: a.mid, n: T * C });
    await rmsnorm_forward(kernels, pass, { x: a.mid, w: gm.preFf, y: a.n2, rstd: a.rstd2, T, C, eps });
    await projectForward(kernels, pass, a.n2, w.gate, null, a.g, T, lf('gate'));
    await projectForward(kernels, pass, a.n2, w.up, null, a.u, T, lf('up'));
    await geglu_forward(kernels, pass, { gate: a.g, up: a.u, h: a.h, T, F });
    await projectForward(kernels, pass, a.h, w.down, null, gm.dd, T, lf('down'));
    await rmsnorm_forward(kernels, pass, { x: gm.dd, w: gm.postFf, y: s.tmp, rstd: gm.rstdD, T, C, eps });
    await add_forward(kernels, pass, { a: a.mid, b: s.tmp, out, n: T * C });
    return;
  }
  // The residual adds ride in the o and down projections' epilogues (one dispatch each, not two).
  if (w.oBias) {
    await projectForward(kernels, pass, a.att, w.o, w.oBias, s.tmp, T, lf('o'));
    await add_forward(kernels, pass, { a: x, b: s.tmp, out: a.mid, n: T * C });
  } else await projectForward(kernels, pass, a.att, w.o, null, a.mid, T, lf('o'), x);
  const [gate, up] = [lf('gate'), lf('up')];
  if (fusable(attend, T, [gate, up], [w.gate, w.up], [])) {
    // Likewise n2, gate and up: the norm, both projections and SwiGLU in one dispatch.
    await mlp_gate_forward_rows(kernels, pass, {
      x: a.mid, norm: w.postNorm.blocks[0].buffer, eps, T, K: C, wg: w.gate.blocks[0].buffer, wu: w.up.blocks[0].buffer, h: a.h, N: F,
    });
  } else {
    await rmsnorm_forward(kernels, pass, { x: a.mid, w: w.postNorm.blocks[0].buffer, y: a.n2, rstd: a.rstd2, T, C, eps });
    await projectForward(kernels, pass, a.n2, w.gate, null, a.g, T, gate);
    await projectForward(kernels, pass, a.n2, w.up, null, a.u, T, up);
    await swiglu_forward(kernels, pass, { gate: a.g, up: a.u, h: a.h, T, F });
  }
  await projectForward(kernels, pass, a.h, w.down, null, out, T, lf('down'), a.mid);
}

/**
 * On entry s.dx holds d(loss)/d(out); on return it holds d(loss)/d(x). LoRA gradients accumulate into the adapter's
 * gradient buffer. `x` must be the same input the forward saw (recompute mode re-runs the forward first).
 */
export async function layerBackward(kernels: Kernels, pass: GPUComputePassEncoder, cfg: ModelConfig, w: LayerWeights, l: number,
  x: GPUBuffer, a: LayerActs, s: Scratch, b: BatchBuffers, lora: LoraFor): Promise<void> {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F } = cfg;
  const T = b.T;
  const lf = (t: LoraTarget) => lora(l, t, a.lora[t]);
  const gm = gemmaOf(cfg, w, a, b, l);
  const invFreq = gm?.invFreq ?? b.invFreq;
  // MLP: the residual passes dx through; the branch adds rmsnorm's backward into it (dx becomes d(mid)). Gemma's
  // norm after down_proj takes dx first, into tmp.
  if (gm) await rmsnorm_backward(kernels, pass, { dy: s.dx, x: gm.dd, w: gm.postFf, rstd: gm.rstdD, dx: s.tmp, T, C });
  await projectBackward(kernels, pass, gm ? s.tmp : s.dx, a.h, w.down, s.dh, T, false, lf('down'));
  if (gm) await geglu_backward(kernels, pass, { dh: s.dh, gate: a.g, up: a.u, dgate: s.dg, dup: s.du, T, F });
  else await swiglu_backward(kernels, pass, { dh: s.dh, gate: a.g, up: a.u, dgate: s.dg, dup: s.du, T, F });
  await projectBackward(kernels, pass, s.dg, a.n2, w.gate, s.dn, T, false, lf('gate'));
  await projectBackward(kernels, pass, s.du, a.n2, w.up, s.dn, T, true, lf('up'));
  await rmsnorm_backward(kernels, pass, { dy: s.dn, x: a.mid, w: gm?.preFf ?? w.postNorm.blocks[0].buffer, rstd: a.rstd2, dx: s.dx, T, C, accumulate: true });
  // Attention, likewise ending with dx = d(x); Gemma's norm after o_proj again goes through tmp.
  if (gm) await rmsnorm_backward(kernels, pass, { dy: s.dx, x: gm.ao, w: w.postNorm.blocks[0].buffer, rstd: gm.rstdA, dx: s.tmp, T, C });
  await projectBackward(kernels, pass, gm ? s.tmp : s.dx, a.att, w.o, s.datt, T, false, lf('o'));
  await attention_backward(kernels, pass, {
    dout: s.datt, q: a.q, k: a.k, v: a.v, out: a.att, lse: a.lse, seqStart: gm?.seqStart ?? b.seqStart,
    dq: s.dq, dk: s.dk, dv: s.dv, delta: s.delta, T, H, KV, D, scale: gm?.scale,
  });
  await rope_backward(kernels, pass, { q: s.dq, k: s.dk, pos: b.pos, invFreq, T, H, KV, D });
  const qk = qkNormOf(cfg, w, a);
  if (qk) {
    // datt [T,H*D] is free once attention's backward has run: it takes each norm's input gradient in turn.
    await rmsnorm_backward(kernels, pass, { dy: s.dq, x: qk.qp, w: qk.qNorm, rstd: qk.rstdq, dx: s.datt, T: T * H, C: D });
    await projectBackward(kernels, pass, s.datt, a.n1, w.q, s.dn, T, false, lf('q'));
    await rmsnorm_backward(kernels, pass, { dy: s.dk, x: qk.kp, w: qk.kNorm, rstd: qk.rstdk, dx: s.datt, T: T * KV, C: D });
    await projectBackward(kernels, pass, s.datt, a.n1, w.k, s.dn, T, true, lf('k'));
  } else {
    await projectBackward(kernels, pass, s.dq, a.n1, w.q, s.dn, T, false, lf('q'));
    await projectBackward(kernels, pass, s.dk, a.n1, w.k, s.dn, T, true, lf('k'));
  }
  await projectBackward(kernels, pass, s.dv, a.n1, w.v, s.dn, T, true, lf('v'));
  await rmsnorm_backward(kernels, pass, { dy: s.dn, x, w: w.inNorm.blocks[0].buffer, rstd: a.rstd1, dx: s.dx, T, C, accumulate: true });
}
