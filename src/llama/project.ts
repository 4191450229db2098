// A frozen projection with its optional LoRA, forward and backward: y = x·Wᵀ (+b) + scale·B(A·drop(x)), over the
// weight's row blocks (the B product in the matmul's epilogue). The layer code calls this for q, k, v, o, gate, up and down alike.
import type { Kernels } from '../gpu/kernel';
import type { LoraSlot } from './lora';
import { lora_down_backward, lora_down_forward, lora_up_backward } from './ops/lora';
import { matmul_backward, matmul_forward } from './ops/matmul';
import type { GpuWeight } from './weights-gpu';

/** The adapter of one projection in one micro-batch: where its A and B live, its saved u [T,R], its dropout. */
export interface LoraUse {
  slot: LoraSlot;
  params: GPUBuffer; // [P] flat
  grads: GPUBuffer; // [P] flat, same layout
  u: GPUBuffer; // [T,R] saved by the forward
  du: GPUBuffer; // [T,R] scratch for the backward
  R: number;
  scale: number;
  p: number;
  seed: number;
}

/**
 * y [T,N] = x [T,K]·Wᵀ + bias, plus the LoRA delta, plus `residual` [T,N] when given (a residual connection, added
 * in the matmul's epilogue rather than by a dispatch of its own; not with a bias).
 */
export async function projectForward(kernels: Kernels, pass: GPUComputePassEncoder, x: GPUBuffer, W: GpuWeight, bias: GpuWeight | null,
  y: GPUBuffer, T: number, lora: LoraUse | null, residual: GPUBuffer | null = null): Promise<void> {
  const N = W.rows;
  const K = W.cols;
  if (bias && W.blocks.length > 1) throw new Error('a biased projection larger than one binding is not supported');
  // The LoRA's u first: its up projection (scale · u·Bᵀ) is added in each block's matmul epilogue.
  const up = lora && { u: lora.u, params: lora.params, bOffset: lora.slot.bOffset, R: lora.R, scale: lora.scale };
  if (lora) {
    const { slot, params, R, p, seed } = lora;
    await lora_down_forward(kernels, pass, { x, params, aOffset: slot.aOffset, bOffset: slot.bOffset, R, u: lora.u, T, K, p, seed });
  }
  for (const b of W.blocks) {
    await matmul_forward(kernels, pass, {
      x, w: b.buffer, bias: bias?.blocks[0].buffer ?? null, residual, lora: up, y, T, K, N: b.rows, nOffset: b.rowStart, ldy: N,
    });
  }
}

/** dx [T,K] (=|+=) dy [T,N]·W (+ the LoRA path), and the LoRA's dA, dB accumulated into its gradients. */
export async function projectBackward(kernels: Kernels, pass: GPUComputePassEncoder, dy: GPUBuffer, x: GPUBuffer, W: GpuWeight,
  dx: GPUBuffer, T: number, accumulate: boolean, lora: LoraUse | null): Promise<void> {
  const N = W.rows;
  const K = W.cols;
  for (const [i, b] of W.blocks.entries()) {
    await matmul_backward(kernels, pass, { dy, w: b.buffer, dx, T, K, N: b.rows, nOffset: b.rowStart, ldy: N, accumulate: accumulate || i > 0 });
  }
  if (!lora) return;
  const { slot, params, grads, R, scale, p, seed } = lora;
  const at = { params, aOffset: slot.aOffset, bOffset: slot.bOffset, R };
  await lora_up_backward(kernels, pass, { ...at, dy, u: lora.u, grads, du: lora.du, T, N, scale });
  await lora_down_backward(kernels, pass, { ...at, du: lora.du, x, grads, dx, T, K, p, seed });
}
