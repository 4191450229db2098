// Records the MLP's elementwise gates h = act(gate)·up and their gradients: shaders/swiglu.wgsl (silu, Llama/Qwen)
// and shaders/geglu.wgsl (gelu_tanh, Gemma) share one binding layout and params, so one recorder serves both, named
// by the WGSL entry point. Out of place (WebGPU refuses a buffer bound read-only and writable in one dispatch);
// every tensor [T,F] f32, n = T*F elements.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

interface GatedForwardArgs {
  gate: Bind; // [T,F]
  up: Bind; // [T,F]
  h: Bind; // [T,F], written
  T: number;
  F: number;
}

interface GatedBackwardArgs {
  dh: Bind; // [T,F]
  gate: Bind; // [T,F] the forward's inputs
  up: Bind; // [T,F]
  dgate: Bind; // [T,F], written (overwrites)
  dup: Bind; // [T,F], written (overwrites)
  T: number;
  F: number;
}

async function dispatchGated(kernels: Kernels, pass: GPUComputePassEncoder, entry: string, T: number, F: number, binds: Bind[]): Promise<void> {
  const n = T * F;
  if (n === 0) return;
  const g = grid1d(n, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, entry, binds, [n, g.row], [g.x, g.y]);
}

export const swiglu_forward = (kernels: Kernels, pass: GPUComputePassEncoder, a: GatedForwardArgs) =>
  dispatchGated(kernels, pass, 'swiglu_forward', a.T, a.F, [a.gate, a.up, a.h]);

export const swiglu_backward = (kernels: Kernels, pass: GPUComputePassEncoder, a: GatedBackwardArgs) =>
  dispatchGated(kernels, pass, 'swiglu_backward', a.T, a.F, [a.dh, a.gate, a.up, a.dgate, a.dup]);

export const geglu_forward = (kernels: Kernels, pass: GPUComputePassEncoder, a: GatedForwardArgs) =>
  dispatchGated(kernels, pass, 'geglu_forward', a.T, a.F, [a.gate, a.up, a.h]);

export const geglu_backward = (kernels: Kernels, pass: GPUComputePassEncoder, a: GatedBackwardArgs) =>
  dispatchGated(kernels, pass, 'geglu_backward', a.T, a.F, [a.dh, a.gate, a.up, a.dgate, a.dup]);
