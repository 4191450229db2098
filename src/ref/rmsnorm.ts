// float64 reference for shaders/rmsnorm.wgsl: Hugging Face's LlamaRMSNorm (Qwen2RMSNorm is the same) with a frozen
// weight, so the backward gives dx only.

/**
 * y = x * rstd * w per token row, rstd = 1/sqrt(mean(x²) + eps).
 * x: [T,C], w: [C] (frozen). Returns y: [T,C] and rstd: [T] (kept for the backward).
 */
export function rmsnorm_forward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  eps: number,
  T: number,
  C: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(T * C);
  const rstd = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] * x[t * C + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[t] = r;
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * r * w[c];
  }
  return { y, rstd };
}

/**
 * dx for dy, given the forward's x and rstd:
 * dx_c = rstd * w_c * dy_c - rstd³ / C * x_c * Σ_i dy_i w_i x_i  (the second term is the path through rstd).
 * dy, x: [T,C], w: [C], rstd: [T]. Returns dx: [T,C].
 */
export function rmsnorm_backward(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rstd: ArrayLike<number>,
  T: number,
  C: number,
): Float64Array {
  const dx = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    const r = rstd[t];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[t * C + c] * w[c] * x[t * C + c];
    for (let c = 0; c < C; c++) {
      dx[t * C + c] = r * w[c] * dy[t * C + c] - ((r * r * r) / C) * x[t * C + c] * dot;
    }
  }
  return dx;
}
