// Records shaders/rope.wgsl: rotary embeddings on q and k after their projections (both in one dispatch), and the
// gradients' rotation back. IN PLACE only: pass the tensors to rotate (or their byte ranges) as q and k.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

export interface RopeArgs {
  q: Bind; // [T,H,D] f32, rotated in place (forward: q; backward: dq)
  k: Bind; // [T,KV,D] f32, likewise (k; dk); not the same buffer as q
  pos: Bind; // [T] u32, each packed token's position in its sequence
  invFreq: Bind; // [D/2] f32, rope_inv_freq(D, theta, scaling) computed once on the CPU
  T: number;
  H: number;
  KV: number;
  D: number; // even
}

async function rope(kernels: Kernels, pass: GPUComputePassEncoder, entry: string, a: RopeArgs): Promise<void> {
  if (a.D % 2 !== 0) throw new Error(`${entry}: head dim ${a.D} is odd`);
  const n = (a.T * (a.H + a.KV) * a.D) / 2;
  if (n === 0) return;
  const g = grid1d(n, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, entry, [a.q, a.k, a.pos, a.invFreq], [a.T, a.H, a.KV, a.D, g.row], [g.x, g.y]);
}

/**
 * q, k ← rotate(q, k by pos·invFreq) in HF's rotate-half layout. The angle is the f32 product pos·inv_freq, as HF takes it,
 * so it carries a relative rounding of ~6e-8 (absolute ~6e-8·pos radians) that grows with the position.
 */
export function rope_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: RopeArgs): Promise<void> {
  return rope(kernels, pass, 'rope_forward', a);
}

/** dq, dk ← rotate(dq, dk by −pos·invFreq): the gradient of rope_forward, in place on the gradients. */
export function rope_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: RopeArgs): Promise<void> {
  return rope(kernels, pass, 'rope_backward', a);
}
