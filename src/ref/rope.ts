// float64 reference for shaders/rope.wgsl: rotary position embeddings in Hugging Face's rotate-half layout.

// The inverse frequencies are production code (the engine uploads them); the reference and its tests take them from there.
export { rope_inv_freq } from '../llama/rope-freq';

/**
 * Rotates each head's halves by angle pos[t]·invFreq[i]: for i < D/2,
 * y[i] = x[i]·cos − x[i+D/2]·sin, y[i+D/2] = x[i+D/2]·cos + x[i]·sin.
 * x: [T,nh,D], pos: [T], invFreq: [D/2]. Returns y: [T,nh,D].
 */
export function rope_forward(
  x: ArrayLike<number>,
  pos: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  D: number,
): Float64Array {
  return rotate(x, pos, invFreq, T, nh, D, 1);
}

/** dx for dy: the rotation is orthogonal, so its gradient is the rotation by the opposite angle. Shapes as forward. */
export function rope_backward(
  dy: ArrayLike<number>,
  pos: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  D: number,
): Float64Array {
  return rotate(dy, pos, invFreq, T, nh, D, -1);
}

function rotate(
  x: ArrayLike<number>,
  pos: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  D: number,
  sign: 1 | -1,
): Float64Array {
  const half = D / 2;
  const y = new Float64Array(T * nh * D);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nh; h++) {
      const base = (t * nh + h) * D;
      for (let i = 0; i < half; i++) {
        const angle = pos[t] * invFreq[i];
        const cos = Math.cos(angle);
        const sin = sign * Math.sin(angle);
        const a = x[base + i];
        const b = x[base + i + half];
        y[base + i] = a * cos - b * sin;
        y[base + i + half] = b * cos + a * sin;
      }
    }
  }
  return y;
}
