// float64 references for shaders/fused.wgsl: a decoder layer's input halves as generation runs them in one dispatch
// each, defined as the compositions of the references they replace (so they need no gradient check of their own).
import { swiglu_forward } from './gated';
import { matmul_forward } from './matmul';
import { rmsnorm_forward } from './rmsnorm';

/** q [T,Nq], k [T,Nk], v [T,Nv] = rmsnorm(x [T,K], norm [K])·Wᵀ for each W [N*,K]. */
export function qkv_forward(
  x: ArrayLike<number>, norm: ArrayLike<number>, eps: number,
  wq: ArrayLike<number>, wk: ArrayLike<number>, wv: ArrayLike<number>,
  T: number, K: number, Nq: number, Nk: number, Nv: number,
): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const n = rmsnorm_forward(x, norm, eps, T, K).y;
  return { q: matmul_forward(n, wq, null, T, K, Nq), k: matmul_forward(n, wk, null, T, K, Nk), v: matmul_forward(n, wv, null, T, K, Nv) };
}

/** h [T,N] = silu(n·Wgᵀ) ⊙ (n·Wuᵀ), n = rmsnorm(x [T,K], norm [K]); Wg, Wu [N,K]. */
export function mlp_gate_forward(
  x: ArrayLike<number>, norm: ArrayLike<number>, eps: number, wg: ArrayLike<number>, wu: ArrayLike<number>, T: number, K: number, N: number,
): Float64Array {
  const n = rmsnorm_forward(x, norm, eps, T, K).y;
  return swiglu_forward(matmul_forward(n, wg, null, T, K, N), matmul_forward(n, wu, null, T, K, N), T, N);
}
