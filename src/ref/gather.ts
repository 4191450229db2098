// float64 reference for shaders/gather.wgsl.

/** out [B,C] = x [T,C] rows idx [B]. */
export function gather_rows(x: ArrayLike<number>, idx: ArrayLike<number>, B: number, C: number): Float64Array {
  const out = new Float64Array(B * C);
  for (let i = 0; i < B; i++) for (let c = 0; c < C; c++) out[i * C + c] = x[idx[i] * C + c];
  return out;
}

/** dx [T,C] = Σ over gathered rows of dout [B,C] added back at row idx[r]: the gradient of gather_rows. */
export function gather_rows_backward(dout: ArrayLike<number>, idx: ArrayLike<number>, B: number, T: number, C: number): Float64Array {
  const dx = new Float64Array(T * C);
  for (let i = 0; i < B; i++) for (let c = 0; c < C; c++) dx[idx[i] * C + c] += dout[i * C + c];
  return dx;
}
