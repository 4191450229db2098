// float64 reference for kl_reverse_forward (shaders/kl_topk.wgsl): on-policy distillation's reverse KL(student ||
// teacher) per token, at positions the student sampled itself. The teacher is known as in kl_topk.ts, by its top-K
// ids S and log-probs plus one bin for the rest of its mass, and the student is coarsened to the same K + 1 bins:
//   c_k = log q_k − log p_k (k ∈ S),  c_r = log q_rest − log r,  q_rest = 1 − Σ_S q_k,  r = 1 − Σ_S p_k
//   KL = Σ_S q_k·c_k + q_rest·c_r              (the exact reverse KL of the binned distributions)
//   dKL/dz_j = q_j·(c_k − KL) for j = S_k,  q_j·(c_r − KL) for j ∉ S
// so the gradient has kl_topk's shape, a dense b·q_j (b = c_r − KL) plus a sparse term at the teacher's ids
// (q_k·(c_k − c_r)), and kl_topk_backward writes it unchanged. The binned KL is a lower bound of the full reverse
// KL (data processing) that needs only what the teacher pass already returns; the rest bin is what penalizes the
// student's mass on tokens the teacher leaves out of its top-K. Reverse KL is infinite where the teacher has no
// mass, so r is floored at KL_REST_FLOOR (a teacher whose top-K holds all its mass, K = V, or f32 rounding).
import { distilledRows, KL_REST_FLOOR } from './kl_topk';

export interface KlReverseForward {
  /** Σ_t weights[t]·losses[t]. */
  loss: number;
  /** [T] reverse KL of each token; 0 where weights[t] = 0. */
  losses: Float64Array;
  /** [T] log Σ_v exp(logits[t, v]). */
  lse: Float64Array;
  /** [T] the dense coefficient b = c_r − KL of each token, unweighted; 0 where not distilled. */
  dense: Float64Array;
}

/**
 * One token from the student's log-probs at S (lq [K]) and the teacher's (logp [K]): its reverse KL, the dense
 * coefficient b and the rest bin's c_r. The student's rest is floored like the teacher's, since in f32 1 − Σ_S q_k
 * is rounding below it.
 */
export function kl_reverse_token(lq: ArrayLike<number>, logp: ArrayLike<number>): { kl: number; b: number; cr: number } {
  let ps = 0;
  let qs = 0;
  let kl = 0;
  for (let k = 0; k < logp.length; k++) {
    const q = Math.exp(lq[k]);
    ps += Math.exp(logp[k]);
    qs += q;
    kl += q * (lq[k] - logp[k]);
  }
  const qr = Math.max(1 - qs, KL_REST_FLOOR);
  const cr = Math.log(qr) - Math.log(Math.max(1 - ps, KL_REST_FLOOR));
  kl += qr * cr;
  return { kl, b: cr - kl, cr };
}

/** logits: [T,V]; ids: [T,K] teacher top-K ids; logp: [T,K] their teacher log-probs; weights: [T] (0 = not distilled). */
export function kl_reverse_forward(
  logits: ArrayLike<number>,
  ids: ArrayLike<number>,
  logp: ArrayLike<number>,
  weights: ArrayLike<number>,
  T: number,
  V: number,
  K: number,
): KlReverseForward {
  const { loss, losses, lse, rows } = distilledRows(logits, ids, logp, weights, T, V, K, kl_reverse_token);
  const dense = Float64Array.from(rows, (r) => r?.b ?? 0);
  return { loss, losses, lse, dense };
}

/** d(Σ weights·KL)/d(logits) [T,V]: weights[t]·q_j·(c_r − KL), or q_j·(c_k − KL) at the teacher's id S_k. */
export function kl_reverse_backward(
  logits: ArrayLike<number>,
  ids: ArrayLike<number>,
  logp: ArrayLike<number>,
  weights: ArrayLike<number>,
  T: number,
  V: number,
  K: number,
): Float64Array {
  const f = kl_reverse_forward(logits, ids, logp, weights, T, V, K);
  const d = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const w = weights[t];
    if (w === 0) continue;
    for (let v = 0; v < V; v++) d[t * V + v] = w * f.dense[t] * Math.exp(logits[t * V + v] - f.lse[t]);
    for (let k = 0; k < K; k++) {
      const j = ids[t * K + k];
      const lq = logits[t * V + j] - f.lse[t];
      d[t * V + j] = w * Math.exp(lq) * (lq - logp[t * K + k] - f.losses[t]);
    }
  }
  return d;
}
