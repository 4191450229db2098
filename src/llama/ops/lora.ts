// Records the LoRA kernels (shaders/lora.wgsl) into a compute pass for one target projection. A [R,K] and B [N,R]
// are element offsets into the flat parameter buffer; their gradients sit at the same offsets of the flat gradient
// buffer and ACCUMULATE (micro-batches add up until the optimizer step zeroes them).
import type { Bind, Kernels, Param } from '../../gpu/kernel';
import { f32 } from '../../gpu/kernel';
import { dropout_threshold } from '../dropout';

/** Where one target's adapter lives: flat f32 buffers and element offsets, shared by parameters and gradients. */
export interface LoraSlice {
  /** flat f32 LoRA parameters (all layers and targets) */
  params: Bind;
  /** element offset of A [R,K] in params (and grads) */
  aOffset: number;
  /** element offset of B [N,R] in params (and grads) */
  bOffset: number;
  R: number;
}

/** Input dropout: each x[t,k] is kept iff dropout_keep(seed, t*K + k, p); p = 0 (default) turns it off. */
export interface LoraDropout {
  p?: number;
  /** u32; use a fresh one per step and micro-batch, and the same one in that step's backward */
  seed?: number;
}

export interface LoraDownForwardOptions extends LoraSlice, LoraDropout {
  /** [T,K] f32, the projection's input */
  x: Bind;
  /** [T,R] f32, written (keep it for the backward pass) */
  u: Bind;
  T: number;
  K: number;
}

export interface LoraUpBackwardOptions extends LoraSlice {
  /** [T,ldy] f32, gradient of the projection's output; columns nOffset..nOffset+N are read */
  dy: Bind;
  /** [T,R] f32 saved by lora_down_forward */
  u: Bind;
  /** flat f32 LoRA gradients; dB [N,R] at bOffset is incremented */
  grads: Bind;
  /** [T,R] f32 scratch, overwritten with scale · dy·B */
  du: Bind;
  T: number;
  N: number;
  scale: number;
  nOffset?: number;
  ldy?: number;
}

export interface LoraDownBackwardOptions extends LoraSlice, LoraDropout {
  /** [T,R] f32 from lora_up_backward */
  du: Bind;
  /** [T,K] f32, the projection's input (the same x as the forward, so the same mask) */
  x: Bind;
  /** flat f32 LoRA gradients; dA [R,K] at aOffset is incremented */
  grads: Bind;
  /** [T,K] f32, incremented (it already holds the base projection's dx) */
  dx: Bind;
  T: number;
  K: number;
}

interface Packed {
  T: number;
  K?: number;
  N?: number;
  R: number;
  aOffset: number;
  bOffset: number;
  nOffset?: number;
  ldy?: number;
  scale?: number;
  p?: number;
  seed?: number;
}

/** LoraParams of shaders/lora.wgsl, in field order. */
function params(entry: string, o: Packed): Param[] {
  const { T, K = 0, N = 0, R, aOffset, bOffset, nOffset = 0, ldy = N, scale = 1, p = 0, seed = 0 } = o;
  for (const [name, v] of Object.entries({ T, K, N, R, aOffset, bOffset, nOffset, ldy, seed })) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${entry}: ${name}=${v} must be a u32`);
  }
  if (nOffset + N > ldy) throw new Error(`${entry}: columns ${nOffset}..${nOffset + N} exceed the row stride ${ldy}`);
  return [T, K, N, R, aOffset, bOffset, nOffset, ldy, f32(scale), f32(1 / (1 - p)), dropout_threshold(p), seed];
}

type Pass = GPUComputePassEncoder;
/** Tiles of the kernels' 32x32 output tile. */
const tiles = (n: number) => Math.ceil(n / 32);

/** A linear count of workgroups as a 2-D grid (the kernels read id = wg.y * groups.x + wg.x and skip the excess). */
function grid(kernels: Kernels, n: number): [number, number] {
  const max = kernels.ctx.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(Math.max(n, 1), max);
  return [x, Math.ceil(n / x)];
}

/** u [T,R] = dropout(x [T,K]) · Aᵀ. */
export async function lora_down_forward(kernels: Kernels, pass: Pass, o: LoraDownForwardOptions): Promise<void> {
  const ps = params('lora_down_forward', o);
  if (o.T === 0 || o.R === 0) return;
  await kernels.dispatch(pass, 'lora_down_forward', [o.x, o.params, o.u], ps, grid(kernels, tiles(o.R) * tiles(o.T)));
}

/** dB [N,R] += scale · dyᵀ·u and du [T,R] = scale · dy·B, one dispatch. */
export async function lora_up_backward(kernels: Kernels, pass: Pass, o: LoraUpBackwardOptions): Promise<void> {
  const ps = params('lora_up_backward', o);
  if (o.R === 0) return;
  const n = tiles(o.R) * (tiles(o.N) + tiles(o.T));
  await kernels.dispatch(pass, 'lora_up_backward', [o.dy, o.u, o.params, o.grads, o.du], ps, grid(kernels, n));
}

/** dA [R,K] += duᵀ·dropout(x) and dx [T,K] += (du·A) ⊙ mask/(1-p), one dispatch. */
export async function lora_down_backward(kernels: Kernels, pass: Pass, o: LoraDownBackwardOptions): Promise<void> {
  const ps = params('lora_down_backward', o);
  if (o.K === 0) return;
  const n = tiles(o.K) * (tiles(o.R) + tiles(o.T));
  await kernels.dispatch(pass, 'lora_down_backward', [o.du, o.x, o.params, o.grads, o.dx], ps, grid(kernels, n));
}
