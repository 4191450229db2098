// Records shaders/gather.wgsl: out [B,C] = rows idx [B] of x [T,C].
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

export async function gather_rows(kernels: Kernels, pass: GPUComputePassEncoder, o: { x: Bind; idx: Bind; out: Bind; B: number; C: number }): Promise<void> {
  if (o.B === 0) return;
  const g = grid1d(o.B * o.C, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'gather_rows', [o.x, o.idx, o.out], [o.B, o.C, g.row], [g.x, g.y]);
}
