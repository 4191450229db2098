// Records shaders/rmsnorm.wgsl: the pre-attention, pre-MLP and final norms of the decoder, and their gradients.
import { grid1d } from '../../gpu/dispatch';
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

export interface RmsnormForwardArgs {
  x: Bind; // [T,C] f32
  w: Bind; // [C] frozen weight (wt: f16 or f32 as the registry's preamble says)
  y: Bind; // [T,C] f32, written; must not alias x
  rstd: Bind; // [T] f32, written: 1/sqrt(mean(x²)+eps), kept for the backward
  T: number;
  C: number;
  eps: number;
}

export interface RmsnormBackwardArgs {
  dy: Bind; // [T,C] f32
  x: Bind; // [T,C] f32, the forward's input
  w: Bind; // [C] frozen weight
  rstd: Bind; // [T] f32 from rmsnorm_forward
  dx: Bind; // [T,C] f32, written (or added to); must not alias dy or x
  T: number;
  C: number;
  /** true: dx += gradient, so the residual stream's gradient needs no separate add. Default false: dx = gradient. */
  accumulate?: boolean;
}

// One workgroup (256 invocations) per row; rows spill into a 2-D grid past the per-dimension limit.
function rowGrid(kernels: Kernels, T: number) {
  return grid1d(T, 1, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
}

/** y = x · rstd · w per row (HF LlamaRMSNorm / Qwen2RMSNorm), and rstd. */
export async function rmsnorm_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: RmsnormForwardArgs): Promise<void> {
  if (a.T === 0) return;
  const g = rowGrid(kernels, a.T);
  await kernels.dispatch(pass, 'rmsnorm_forward', [a.x, a.w, a.y, a.rstd], [a.T, a.C, f32(a.eps), g.x], [g.x, g.y]);
}

/** dx (w is frozen: no dw). */
export async function rmsnorm_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: RmsnormBackwardArgs): Promise<void> {
  if (a.T === 0) return;
  const g = rowGrid(kernels, a.T);
  await kernels.dispatch(
    pass,
    'rmsnorm_backward',
    [a.dy, a.x, a.w, a.rstd, a.dx],
    [a.T, a.C, g.x, a.accumulate ? 1 : 0],
    [g.x, g.y],
  );
}
