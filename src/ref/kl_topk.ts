// float64 reference for shaders/kl_topk.wgsl: logit distillation, KL(teacher || student) per token, where the
// teacher is known only by its top-K next-token log-probabilities (the rest of its mass as one extra bin), so the
// targets stay small ([T,K] instead of [T,V]) and the student's full softmax is never compared to a full teacher.
//   teacher: ids S, p_k = exp(logp_k), remainder r = 1 − Σ p_k;  student: q = softmax(logits), q_rest = 1 − Σ_S q_k
//   KL = Σ_S p_k log(p_k / q_k) + r log(r / q_rest)        (the r term is skipped when r <= KL_REST_EPS)
//   dKL/dz_j = a·q_j − p_j for j ∈ S,  b·q_j for j ∉ S,    a = Σ p_k + r,  b = a − r / q_rest  (r = 0 when skipped)
// With r kept, a = 1 and these are the textbook q_j − p_j and q_j·(1 − r/q_rest).

/** A teacher remainder at or below this is rounding (f32 logp summed over K), not mass: its bin is skipped. */
export const KL_REST_EPS = 1e-6;
/**
 * The student's remainder is at least this: in f32, 1 − Σ_S q_k carries ~K·6e-8 of rounding, so a smaller value
 * is noise, and r / q_rest would blow the gradient up on it.
 */
export const KL_REST_FLOOR = 1e-6;

export interface KlTopkForward {
  /** Σ_t weights[t]·losses[t]. */
  loss: number;
  /** [T] KL of each token; 0 where weights[t] = 0 (a token that is not distilled). */
  losses: Float64Array;
  /** [T] log Σ_v exp(logits[t, v]). */
  lse: Float64Array;
  /** [T,2] the gradient coefficients (a, b) of each token, unweighted; 0 where not distilled. */
  coef: Float64Array;
}

/** One token: its KL and (a, b) from the student's log-probs at S (lq [K]) and the teacher's (logp [K]). */
export function kl_topk_token(lq: ArrayLike<number>, logp: ArrayLike<number>): { kl: number; a: number; b: number } {
  let ps = 0;
  let qs = 0;
  let kl = 0;
  for (let k = 0; k < logp.length; k++) {
    const p = Math.exp(logp[k]);
    ps += p;
    qs += Math.exp(lq[k]);
    if (p > 0) kl += p * (logp[k] - lq[k]);
  }
  const r = 1 - ps;
  if (!(r > KL_REST_EPS)) return { kl, a: ps, b: ps };
  const qr = Math.max(1 - qs, KL_REST_FLOOR);
  return { kl: kl + r * (Math.log(r) - Math.log(qr)), a: ps + r, b: ps + r - r / qr };
}

/** Rows of distilled tokens (weight ≠ 0) hold K distinct ids of the vocabulary; other rows are never read. */
export function checkIds(ids: ArrayLike<number>, weights: ArrayLike<number>, T: number, V: number, K: number): void {
  for (let t = 0; t < T; t++) {
    if (weights[t] === 0) continue;
    const row = new Set<number>();
    for (let k = 0; k < K; k++) {
      const id = ids[t * K + k];
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`kl_topk: teacher id ${id} of token ${t} is outside [0, ${V})`);
      if (row.has(id)) throw new Error(`kl_topk: teacher id ${id} appears twice in token ${t}'s top-K`);
      row.add(id);
    }
  }
}

/** log Σ_v exp(logits[t, v]) over row t of [T,V], shifted by the row's max: the student's normalizer. */
export function rowLogSumExp(logits: ArrayLike<number>, t: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[t * V + v] - max);
  return max + Math.log(sum);
}

/** logits: [T,V]; ids: [T,K] teacher top-K ids; logp: [T,K] their teacher log-probs; weights: [T] (0 = not distilled). */
export function kl_topk_forward(
  logits: ArrayLike<number>,
  ids: ArrayLike<number>,
  logp: ArrayLike<number>,
  weights: ArrayLike<number>,
  T: number,
  V: number,
  K: number,
): KlTopkForward {
  const { loss, losses, lse, rows } = distilledRows(logits, ids, logp, weights, T, V, K, kl_topk_token);
  const coef = new Float64Array(T * 2);
  rows.forEach((r, t) => {
    if (r) [coef[t * 2], coef[t * 2 + 1]] = [r.a, r.b];
  });
  return { loss, losses, lse, coef };
}

/**
 * The walk both top-K KL references make (kl_topk_forward, kl_reverse_forward): each row's log-sum-exp, and for each
 * distilled row (weight > 0) the student's log-probs at the teacher's ids beside the teacher's, given to `token`;
 * its KL is summed by weight. `rows[t]` is the token's result, null where the row is not distilled.
 */
export function distilledRows<R extends { kl: number }>(
  logits: ArrayLike<number>, // [T,V]
  ids: ArrayLike<number>, // [T,K]
  logp: ArrayLike<number>, // [T,K]
  weights: ArrayLike<number>, // [T]
  T: number,
  V: number,
  K: number,
  token: (lq: number[], lp: number[]) => R,
): { loss: number; losses: Float64Array; lse: Float64Array; rows: (R | null)[] } {
  checkIds(ids, weights, T, V, K);
  const losses = new Float64Array(T);
  const lse = new Float64Array(T);
  const rows: (R | null)[] = [];
  let loss = 0;
  for (let t = 0; t < T; t++) {
    lse[t] = rowLogSumExp(logits, t, V);
    rows.push(null);
    if (weights[t] === 0) continue;
    const lq = Array.from({ length: K }, (_, k) => logits[t * V + ids[t * K + k]] - lse[t]);
    const r = token(lq, Array.from({ length: K }, (_, k) => logp[t * K + k]));
    rows[t] = r;
    losses[t] = r.kl;
    loss += weights[t] * r.kl;
  }
  return { loss, losses, lse, rows };
}

/** d(Σ weights·KL)/d(logits) [T,V]: weights[t]·(b·q_j, or a·q_j − p_j at the teacher's ids). */
export function kl_topk_backward(
  logits: ArrayLike<number>,
  ids: ArrayLike<number>,
  logp: ArrayLike<number>,
  weights: ArrayLike<number>,
  T: number,
  V: number,
  K: number,
): Float64Array {
  const f = kl_topk_forward(logits, ids, logp, weights, T, V, K);
  const d = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const w = weights[t];
    if (w === 0) continue;
    const [a, b] = [f.coef[t * 2], f.coef[t * 2 + 1]];
    for (let v = 0; v < V; v++) d[t * V + v] = w * b * Math.exp(logits[t * V + v] - f.lse[t]);
    for (let k = 0; k < K; k++) {
      const j = ids[t * K + k];
      d[t * V + j] = w * (a * Math.exp(logits[t * V + j] - f.lse[t]) - Math.exp(logp[t * K + k]));
    }
  }
  return d;
}

/**
 * One vocabulary chunk's share of the student's logits at the teacher's ids: z [T,K] with z[t,k] = logits[t, ids[t,k]]
 * wherever that id falls in the chunk, `prev` elsewhere. chunk: [T, stride], columns 0..Vc-1 = logits[:, v0..v0+Vc-1].
 */
export function kl_topk_gather(
  chunk: ArrayLike<number>,
  ids: ArrayLike<number>,
  prev: ArrayLike<number>,
  T: number,
  K: number,
  Vc: number,
  v0: number,
  stride = Vc,
): Float64Array {
  const z = Float64Array.from(prev);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const id = ids[t * K + k];
      if (id >= v0 && id < v0 + Vc) z[t * K + k] = chunk[t * stride + id - v0];
    }
  }
  return z;
}
