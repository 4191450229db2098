// float64 reference for shaders/lora.wgsl: the LoRA delta y = scale · dropout(x)·Aᵀ·Bᵀ and its gradients, one
// function per WGSL entry point (down/up, forward/backward) plus the composed lora_forward / lora_backward.
import { dropout_keep } from './dropout';

/** xd [T,K] = x ⊙ mask / (1 - p), the mask from dropout_keep(seed, t*K + k, p); p = 0 returns x unchanged. */
export function lora_dropout(x: ArrayLike<number>, p: number, seed: number, T: number, K: number): Float64Array {
  const xd = new Float64Array(T * K);
  for (let i = 0; i < T * K; i++) xd[i] = p === 0 ? x[i] : dropout_keep(seed, i, p) ? x[i] / (1 - p) : 0;
  return xd;
}

/** u [T,R] = dropout(x) [T,K] · A [R,K]ᵀ. */
export function lora_down_forward(
  x: ArrayLike<number>, // [T,K]
  A: ArrayLike<number>, // [R,K]
  p: number,
  seed: number,
  T: number,
  K: number,
  R: number,
): Float64Array {
  const xd = lora_dropout(x, p, seed, T, K);
  const u = new Float64Array(T * R); // [T,R]
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += xd[t * K + k] * A[r * K + k];
      u[t * R + r] = s;
    }
  }
  return u;
}

/** y [T,N] = scale · u [T,R] · B [N,R]ᵀ (the delta; the GPU adds it to the base projection's output). */
export function lora_up_forward(
  u: ArrayLike<number>, // [T,R]
  B: ArrayLike<number>, // [N,R]
  scale: number,
  T: number,
  N: number,
  R: number,
): Float64Array {
  const y = new Float64Array(T * N); // [T,N]
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let r = 0; r < R; r++) s += u[t * R + r] * B[n * R + r];
      y[t * N + n] = scale * s;
    }
  }
  return y;
}

/** dB [N,R] = scale · dyᵀ · u and du [T,R] = scale · dy · B, for dy [T,N], u [T,R], B [N,R]. */
export function lora_up_backward(
  dy: ArrayLike<number>, // [T,N]
  u: ArrayLike<number>, // [T,R]
  B: ArrayLike<number>, // [N,R]
  scale: number,
  T: number,
  N: number,
  R: number,
): { dB: Float64Array; du: Float64Array } {
  const dB = new Float64Array(N * R); // [N,R]
  const du = new Float64Array(T * R); // [T,R]
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      const g = scale * dy[t * N + n];
      for (let r = 0; r < R; r++) {
        dB[n * R + r] += g * u[t * R + r];
        du[t * R + r] += g * B[n * R + r];
      }
    }
  }
  return { dB, du };
}

/** dA [R,K] = duᵀ · dropout(x) and dx [T,K] = (du · A) ⊙ mask / (1 - p), for du [T,R], x [T,K], A [R,K]. */
export function lora_down_backward(
  du: ArrayLike<number>, // [T,R]
  x: ArrayLike<number>, // [T,K]
  A: ArrayLike<number>, // [R,K]
  p: number,
  seed: number,
  T: number,
  K: number,
  R: number,
): { dA: Float64Array; dx: Float64Array } {
  const xd = lora_dropout(x, p, seed, T, K);
  // The mask as a multiplier (0 or 1/(1-p)): the same lora_dropout applied to ones.
  const m = lora_dropout(new Float64Array(T * K).fill(1), p, seed, T, K);
  const dA = new Float64Array(R * K); // [R,K]
  const dx = new Float64Array(T * K); // [T,K]
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < R; r++) {
      const g = du[t * R + r];
      for (let k = 0; k < K; k++) {
        dA[r * K + k] += g * xd[t * K + k];
        dx[t * K + k] += g * A[r * K + k];
      }
    }
  }
  for (let i = 0; i < T * K; i++) dx[i] *= m[i];
  return { dA, dx };
}

/** The LoRA delta y [T,N] and the saved down projection u [T,R] (kept for the backward pass). */
export function lora_forward(
  x: ArrayLike<number>, // [T,K]
  A: ArrayLike<number>, // [R,K]
  B: ArrayLike<number>, // [N,R]
  scale: number,
  p: number,
  seed: number,
  T: number,
  K: number,
  N: number,
  R: number,
): { y: Float64Array; u: Float64Array } {
  const u = lora_down_forward(x, A, p, seed, T, K, R);
  return { y: lora_up_forward(u, B, scale, T, N, R), u };
}

/** Gradients of lora_forward's y: dx [T,K], dA [R,K], dB [N,R], from dy [T,N] and the saved u [T,R]. */
export function lora_backward(
  dy: ArrayLike<number>, // [T,N]
  x: ArrayLike<number>, // [T,K]
  u: ArrayLike<number>, // [T,R]
  A: ArrayLike<number>, // [R,K]
  B: ArrayLike<number>, // [N,R]
  scale: number,
  p: number,
  seed: number,
  T: number,
  K: number,
  N: number,
  R: number,
): { dx: Float64Array; dA: Float64Array; dB: Float64Array } {
  const { dB, du } = lora_up_backward(dy, u, B, scale, T, N, R);
  const { dA, dx } = lora_down_backward(du, x, A, p, seed, T, K, R);
  return { dx, dA, dB };
}
