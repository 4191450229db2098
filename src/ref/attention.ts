// float64 reference for shaders/attention.wgsl: causal grouped-query attention over packed sequences, written
// the plain way (full score rows), so the tiled online-softmax kernels have something independent to match.

/** Query head h reads kv head h / (H / KV). */
function kvHead(h: number, H: number, KV: number): number {
  if (H % KV !== 0) throw new Error(`attention: H=${H} is not a multiple of KV=${KV}`);
  return Math.floor(h / (H / KV));
}

/**
 * out[t,h] = sum_j softmax_j(scale * q[t,h] · k[j,g]) v[j,g] over keys j = seqStart[t]..t, g = kv head of h.
 * q: [T,H,D]; k, v: [T,KV,D]; seqStart: [T] (first token of t's sequence). scale defaults to 1/√D (Gemma gives its
 * own); a sliding window keeps only the keys with t − j < window.
 * Returns out: [T,H,D] and lse: [H,T] = log-sum-exp of the scaled scores (kept for the backward).
 */
export function attention_forward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  seqStart: ArrayLike<number>,
  T: number,
  H: number,
  KV: number,
  D: number,
  scale = 1 / Math.sqrt(D),
  window = Infinity,
): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(T * H * D);
  const lse = new Float64Array(H * T);
  const scores = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    const g = kvHead(h, H, KV);
    for (let t = 0; t < T; t++) {
      const lo = Math.max(seqStart[t], t - window + 1);
      const qo = (t * H + h) * D;
      let max = -Infinity;
      for (let j = lo; j <= t; j++) {
        const ko = (j * KV + g) * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += q[qo + d] * k[ko + d];
        scores[j] = s * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = lo; j <= t; j++) sum += Math.exp(scores[j] - max);
      const l = max + Math.log(sum);
      lse[h * T + t] = l;
      for (let j = lo; j <= t; j++) {
        const p = Math.exp(scores[j] - l);
        const vo = (j * KV + g) * D;
        for (let d = 0; d < D; d++) out[qo + d] += p * v[vo + d];
      }
    }
  }
  return { out, lse };
}

/**
 * Gradients of attention_forward, recomputing the probabilities from lse as the GPU does.
 * dout, q, out: [T,H,D]; k, v: [T,KV,D]; lse: [H,T]; seqStart: [T].
 * Returns dq: [T,H,D]; dk, dv: [T,KV,D] (summed over the H/KV query heads that share each kv head).
 */
export function attention_backward(
  dout: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  out: ArrayLike<number>,
  lse: ArrayLike<number>,
  seqStart: ArrayLike<number>,
  T: number,
  H: number,
  KV: number,
  D: number,
  scale = 1 / Math.sqrt(D),
  window = Infinity,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dq = new Float64Array(T * H * D);
  const dk = new Float64Array(T * KV * D);
  const dv = new Float64Array(T * KV * D);
  for (let h = 0; h < H; h++) {
    const g = kvHead(h, H, KV);
    for (let t = 0; t < T; t++) {
      const qo = (t * H + h) * D;
      // delta = sum_j p_j dp_j = dout · out, the softmax Jacobian's shared term.
      let delta = 0;
      for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
      for (let j = Math.max(seqStart[t], t - window + 1); j <= t; j++) {
        const ko = (j * KV + g) * D;
        let s = 0;
        let dp = 0;
        for (let d = 0; d < D; d++) {
          s += q[qo + d] * k[ko + d];
          dp += dout[qo + d] * v[ko + d];
        }
        const p = Math.exp(s * scale - lse[h * T + t]);
        const ds = p * (dp - delta);
        for (let d = 0; d < D; d++) {
          dv[ko + d] += p * dout[qo + d];
          dq[qo + d] += scale * ds * k[ko + d];
          dk[ko + d] += scale * ds * q[qo + d];
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** seqStart [T] for sequences of the given lengths packed end to end. */
export function packedSeqStart(lengths: number[]): Uint32Array {
  const T = lengths.reduce((a, b) => a + b, 0);
  const out = new Uint32Array(T);
  let t = 0;
  for (const n of lengths) {
    for (let i = 0; i < n; i++) out[t + i] = t;
    t += n;
  }
  return out;
}
