// float64 reference for shaders/top_log_probs.wgsl: the teacher's targets for logit distillation, the K most likely
// next tokens of a row of logits and their log-probabilities. The selection is the one the teacher pass ran on the
// CPU before the kernel (a sorted list of K that a logit enters only above its last entry), so the rules stay its:
//   order: logit descending, then id ascending (an equal logit keeps the earlier id ahead; -0 ties +0);
//   masked (-inf) logits rank last and, in a row with fewer than K finite logits, fill it by lowest id, log-prob -inf;
//   lse = max + log Σ exp(x − max) over the finite logits; NaN when the row holds a NaN or +inf logit or no finite
//   one (as plain float64 arithmetic gives), and then every log-prob is NaN. A NaN logit ranks as -inf.

/** Row `logits` [V]: its K most likely ids, by descending probability, and their log-probs (log-softmax over V). */
export function top_log_probs(logits: ArrayLike<number>, K: number): { ids: number[]; logp: number[] } {
  const V = logits.length;
  if (!(Number.isInteger(K) && K >= 1 && K <= V)) throw new RangeError(`top_log_probs: K ${K} for a vocabulary of ${V}`);
  let max = -Infinity;
  let broken = false;
  for (let v = 0; v < V; v++) {
    const x = logits[v];
    if (Number.isNaN(x) || x === Infinity) broken = true;
    else if (x > max) max = x;
  }
  let sum = 0;
  for (let v = 0; v < V; v++) if (Number.isFinite(logits[v])) sum += Math.exp(logits[v] - max);
  const lse = broken || max === -Infinity ? NaN : max + Math.log(sum);
  const vals = new Float64Array(K).fill(-Infinity);
  const ids = new Array<number>(K).fill(0);
  let n = 0;
  for (let v = 0; v < V; v++) {
    const x = Number.isNaN(logits[v]) ? -Infinity : logits[v];
    if (n === K && !(x > vals[K - 1])) continue;
    let j = n < K ? n++ : K - 1;
    // Strictly smaller entries move down, so an equal value keeps its earlier (lower) id ahead.
    while (j > 0 && vals[j - 1] < x) {
      vals[j] = vals[j - 1];
      ids[j] = ids[j - 1];
      j--;
    }
    vals[j] = x;
    ids[j] = v;
  }
  return { ids, logp: Array.from(vals, (x) => x - lse) };
}
