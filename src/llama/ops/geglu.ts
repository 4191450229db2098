// Records shaders/geglu.wgsl: the MLP's h = gelu_tanh(gate)·up and its gradients. Out of place (WebGPU refuses a buffer
// bound read-only and writable in one dispatch); every tensor [T,F] f32, n = T*F elements.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

export interface GegluForwardArgs {
  gate: Bind; // [T,F]
  up: Bind; // [T,F]
  h: Bind; // [T,F], written
  T: number;
  F: number;
}

export interface GegluBackwardArgs {
  dh: Bind; // [T,F]
  gate: Bind; // [T,F] the forward's inputs
  up: Bind; // [T,F]
  dgate: Bind; // [T,F], written (overwrites)
  dup: Bind; // [T,F], written (overwrites)
  T: number;
  F: number;
}

function grid(kernels: Kernels, n: number) {
  return grid1d(n, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
}

export async function geglu_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: GegluForwardArgs): Promise<void> {
  const n = a.T * a.F;
  if (n === 0) return;
  const g = grid(kernels, n);
  await kernels.dispatch(pass, 'geglu_forward', [a.gate, a.up, a.h], [n, g.row], [g.x, g.y]);
}

export async function geglu_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: GegluBackwardArgs): Promise<void> {
  const n = a.T * a.F;
  if (n === 0) return;
  const g = grid(kernels, n);
  await kernels.dispatch(pass, 'geglu_backward', [a.dh, a.gate, a.up, a.dgate, a.dup], [n, g.row], [g.x, g.y]);
}
