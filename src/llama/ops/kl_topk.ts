// Records shaders/kl_topk.wgsl: logit distillation against a teacher's top-K, beside the chunked cross-entropy.
// Per step: kl_topk_gather for each vocab chunk (after cross_entropy_stats), kl_topk_forward after
// cross_entropy_finish, and for the backward kl_topk_backward per recomputed chunk in place of cross_entropy_backward
// (it writes both gradients, since the chunk's logits are overwritten). On-policy distillation runs kl_reverse_forward
// in kl_topk_forward's place: the reverse KL, with the same gather and backward.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

/** The kernel's threads cover K with a loop, but the targets' memory grows with K: keep it a top-K. */
export const MAX_KL_TOP_K = 256;

export interface KlTopkGatherArgs {
  chunk: Bind; // [T,stride] f32: columns 0..Vc-1 hold logits[:, v0 .. v0+Vc-1]
  ids: Bind; // [T,K] u32 teacher top-K ids, distinct within a row
  z: Bind; // [T,K] f32, written where the id falls in this chunk
  T: number;
  K: number;
  Vc: number;
  v0: number;
  stride?: number; // floats per chunk row; default Vc
}

export interface KlTopkForwardArgs {
  z: Bind; // [T,K] f32 student logits at the teacher's ids (every chunk gathered)
  logp: Bind; // [T,K] f32 teacher log-probs
  lse: Bind; // [T] f32 from cross_entropy_finish
  weights: Bind; // [T] f32 KL weight (group weight / group token count); 0 = not distilled
  tok: Bind; // [T,2] f32, written: (KL of the token, weight·b)
  sparse: Bind; // [T,K] f32, written: what the backward adds at the teacher's ids
  loss: Bind; // f32 [slot+1]: loss[0] += Σ weight·KL, loss[slot] (+)= the same
  T: number;
  K: number;
  slot: number;
  accumulate?: boolean;
}

export interface KlTopkBackwardArgs {
  chunk: Bind; // [T,stride] f32 logits in, d(CE + KL)/d(logits) out
  targets: Bind; // [T] i32 cross-entropy targets (-100 = ignore)
  weights: Bind; // [T] f32 cross-entropy weights
  lse: Bind; // [T] f32
  ids: Bind; // [T,K] u32
  tok: Bind; // [T,2] f32 from klTopkForward
  sparse: Bind; // [T,K] f32 from klTopkForward
  T: number;
  K: number;
  Vc: number;
  v0: number;
  stride?: number;
}

function maxPerDim(kernels: Kernels): number {
  return kernels.ctx.limits.maxComputeWorkgroupsPerDimension;
}

function checkK(K: number): void {
  if (!Number.isInteger(K) || K < 1 || K > MAX_KL_TOP_K) throw new Error(`kl_topk: top-K must be 1..${MAX_KL_TOP_K}, got ${K}`);
}

function strideOf(a: { Vc: number; stride?: number }): number {
  const stride = a.stride ?? a.Vc;
  if (a.Vc < 1 || stride < a.Vc) throw new Error(`kl_topk: chunk of ${a.Vc} columns with row stride ${stride}`);
  return stride;
}

/** z[t,k] ← chunk[t, ids[t,k] − v0] for the ids in [v0, v0+Vc). Read-only on the chunk. */
export async function kl_topk_gather(kernels: Kernels, pass: GPUComputePassEncoder, a: KlTopkGatherArgs): Promise<void> {
  if (a.T === 0) return;
  checkK(a.K);
  const stride = strideOf(a);
  const g = grid1d(a.T * a.K, 256, maxPerDim(kernels));
  await kernels.dispatch(pass, 'kl_topk_gather', [a.chunk, a.ids, a.z], [a.T, a.K, a.Vc, a.v0, stride, g.row], [g.x, g.y]);
}

/** Per-token KL and gradient coefficients, and the weighted sum into loss[0] and loss[slot]. One workgroup. */
export async function kl_topk_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: KlTopkForwardArgs): Promise<void> {
  if (a.T === 0) return;
  checkK(a.K);
  if (!Number.isInteger(a.slot) || a.slot < 1) throw new Error(`kl_topk_forward: loss slot ${a.slot} must be >= 1 (slot 0 is the total)`);
  await kernels.dispatch(
    pass,
    'kl_topk_forward',
    [a.z, a.logp, a.lse, a.weights, a.tok, a.sparse, a.loss],
    [a.T, a.K, a.slot, a.accumulate ? 1 : 0],
    [1],
  );
}

/**
 * Reverse KL(student || teacher) and its gradient coefficients, into the tok and sparse kl_topk_backward reads (zeros
 * where `weights` = 0), its weighted sum into loss[0] and loss[slot]. In kl_topk_forward's place; one workgroup.
 */
export async function kl_reverse_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: KlTopkForwardArgs): Promise<void> {
  if (a.T === 0) return;
  checkK(a.K);
  if (!Number.isInteger(a.slot) || a.slot < 1) throw new Error(`kl_reverse_forward: loss slot ${a.slot} must be >= 1 (slot 0 is the total)`);
  await kernels.dispatch(
    pass,
    'kl_reverse_forward',
    [a.z, a.logp, a.lse, a.weights, a.tok, a.sparse, a.loss],
    [a.T, a.K, a.slot, a.accumulate ? 1 : 0],
    [1],
  );
}

/** chunk[t,j] ← w_ce·(q_j − [j = target]) + KL's gradient, in place; one workgroup per token. */
export async function kl_topk_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: KlTopkBackwardArgs): Promise<void> {
  if (a.T === 0) return;
  checkK(a.K);
  const stride = strideOf(a);
  const g = grid1d(a.T, 1, maxPerDim(kernels));
  await kernels.dispatch(
    pass,
    'kl_topk_backward',
    [a.chunk, a.targets, a.weights, a.lse, a.ids, a.tok, a.sparse],
    [a.T, a.K, a.Vc, a.v0, stride, g.x],
    [g.x, g.y],
  );
}
