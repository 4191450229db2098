// Records shaders/adamw.wgsl: the global gradient norm and the AdamW step over the LoRA's flat buffers, the norm
// staying on the GPU between them (only the 1-element norm buffer is worth reading back, for logging).
import { grid1d } from '../../gpu/dispatch';
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

/** grad_norm_partial never uses more workgroups than this, so `partials` needs at most this many floats. */
export const GRAD_NORM_MAX_GROUPS = 1024;

/** Workgroups (= floats written to `partials`) grad_norm uses for P elements. */
export function gradNormGroups(P: number): number {
  return Math.max(1, Math.min(GRAD_NORM_MAX_GROUPS, Math.ceil(P / 256)));
}

export interface GradNormArgs {
  grads: Bind; // [P] f32
  P: number;
  partials: Bind; // [gradNormGroups(P)] f32 scratch (GRAD_NORM_MAX_GROUPS floats always suffice)
  norm: Bind; // [1] f32, written: sqrt(Σ grads²)
}

/** The step's hyper-parameters as torch.optim.AdamW names them, plus clip_grad_norm_'s max_norm. */
export interface AdamWHyper {
  step: number; // 1-based
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxNorm: number; // 0 = no clipping
}

export interface AdamWUpdateArgs extends AdamWHyper {
  params: Bind; // [P] f32, updated in place
  grads: Bind; // [P] f32, unclipped (clipping is applied on the fly; grads are not modified)
  m: Bind; // [P] f32 first moment, updated in place (zeros before step 1)
  v: Bind; // [P] f32 second moment, updated in place (zeros before step 1)
  norm: Bind; // [1] f32 ||grads|| from grad_norm (read even when maxNorm is 0)
  P: number;
}

/** norm[0] = sqrt(Σ grads²), in two dispatches: partial sums per workgroup, then one workgroup sums them. */
export async function grad_norm(kernels: Kernels, pass: GPUComputePassEncoder, a: GradNormArgs): Promise<void> {
  const groups = gradNormGroups(a.P);
  await kernels.dispatch(pass, 'grad_norm_partial', [a.grads, a.partials], [a.P, groups * 256], [groups]);
  await kernels.dispatch(pass, 'grad_norm_finish', [a.partials, a.norm], [groups], [1]);
}

/**
 * One AdamW step with gradient clipping: g = grads·min(1, maxNorm/(norm + 1e-6)); m, v moments; then
 * params −= lr·(m̂/(√v̂ + eps) + weightDecay·params), the decay using the pre-step params as torch.optim.AdamW.
 * 1 − β and the bias corrections 1 − β^step are computed here in float64 and passed as f32: in f32, 1 − f32(0.999)
 * is off by 1.3e-5 relative, and WGSL's pow near 1 is only accurate to an absolute 2^-21 in log2 (3e-4 relative
 * in 1 − β2^1).
 */
export async function adamw_update(kernels: Kernels, pass: GPUComputePassEncoder, a: AdamWUpdateArgs): Promise<void> {
  if (!(Number.isInteger(a.step) && a.step >= 1)) throw new Error(`adamw_update: step ${a.step} must be an integer >= 1`);
  if (a.P === 0) return;
  const g = grid1d(a.P, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(
    pass,
    'adamw_update',
    [a.params, a.grads, a.m, a.v, a.norm],
    [
      a.P,
      g.row,
      f32(a.lr),
      f32(a.beta1),
      f32(a.beta2),
      f32(1 - a.beta1),
      f32(1 - a.beta2),
      f32(a.eps),
      f32(a.weightDecay),
      f32(a.maxNorm),
      f32(1 - a.beta1 ** a.step),
      f32(1 - a.beta2 ** a.step),
    ],
    [g.x, g.y],
  );
}
