// float64 reference for shaders/matmul.wgsl: the frozen base projections y = x·Wᵀ + b and their input gradient.
// Base weights are frozen, so there is no dW or db.

/**
 * y [T,N] = x [T,K] · w [N,K]ᵀ + bias [N] (bias may be null) + residual [T,N] (a residual connection, optional)
 * + scale · u [T,R] · B [N,R]ᵀ (a LoRA delta, optional: lora_up_forward's product, added in the GPU's epilogue).
 */
export function matmul_forward(
  x: ArrayLike<number>, // [T,K]
  w: ArrayLike<number>, // [N,K]
  bias: ArrayLike<number> | null, // [N]
  T: number,
  K: number,
  N: number,
  residual: ArrayLike<number> | null = null, // [T,N]
  lora: { u: ArrayLike<number>; B: ArrayLike<number>; R: number; scale: number } | null = null,
): Float64Array {
  const y = new Float64Array(T * N); // [T,N]
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = (bias ? bias[n] : 0) + (residual ? residual[t * N + n] : 0);
      for (let k = 0; k < K; k++) s += x[t * K + k] * w[n * K + k];
      if (lora) {
        let d = 0;
        for (let r = 0; r < lora.R; r++) d += lora.u[t * lora.R + r] * lora.B[n * lora.R + r];
        s += lora.scale * d;
      }
      y[t * N + n] = s;
    }
  }
  return y;
}

/** dx [T,K] = dy [T,N] · w [N,K]. */
export function matmul_backward(
  dy: ArrayLike<number>, // [T,N]
  w: ArrayLike<number>, // [N,K]
  T: number,
  K: number,
  N: number,
): Float64Array {
  const dx = new Float64Array(T * K); // [T,K]
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      for (let k = 0; k < K; k++) dx[t * K + k] += g * w[n * K + k];
    }
  }
  return dx;
}
