// Records shaders/add.wgsl: out = a + b elementwise (residual connections). Out of place: WebGPU forbids binding
// one buffer as both read-only and writable storage in a dispatch.
import type { Bind, Kernels } from '../../gpu/kernel';
import { grid1d } from '../../gpu/dispatch';

export async function add_forward(kernels: Kernels, pass: GPUComputePassEncoder, o: { a: Bind; b: Bind; out: Bind; n: number }): Promise<void> {
  if (o.n === 0) return;
  const g = grid1d(o.n, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'add_forward', [o.a, o.b, o.out], [o.n, g.row], [g.x, g.y]);
}
