// float64 reference for shaders/cross_entropy.wgsl: the full-vocabulary loss and gradient, plus the chunked
// online log-sum-exp steps the GPU takes (init, stats per vocab chunk, finish), so both can be checked against each other.

import { IGNORE } from '../llama/batch';

export interface CrossEntropyForward {
  /** Σ_t weights[t]·losses[t] over the tokens whose target is not ignored. */
  loss: number;
  /** [T] log Σ_v exp(logits[t, v]) (computed for ignored tokens too). */
  lse: Float64Array;
  /** [T] lse[t] − logits[t, target[t]]; 0 for ignored tokens. */
  losses: Float64Array;
}

/** logits: [T, V]; targets: [T] ints (-100 = ignore); weights: [T]. */
export function cross_entropy_forward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  T: number,
  V: number,
): CrossEntropyForward {
  const lse = new Float64Array(T);
  const losses = new Float64Array(T);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[t * V + v] - max);
    lse[t] = max + Math.log(sum);
    const target = targets[t];
    if (target === IGNORE) continue;
    checkTarget(target, V, t);
    losses[t] = lse[t] - logits[t * V + target];
    loss += weights[t] * losses[t];
  }
  return { loss, lse, losses };
}

/** d(loss)/d(logits) [T, V] = weights[t]·(softmax(logits[t]) − onehot(target[t])); zero rows for ignored tokens. lse: [T]. */
export function cross_entropy_backward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  lse: ArrayLike<number>,
  T: number,
  V: number,
): Float64Array {
  const dlogits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const target = targets[t];
    if (target === IGNORE) continue;
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logits[t * V + v] - lse[t]);
      dlogits[t * V + v] = weights[t] * (p - (v === target ? 1 : 0));
    }
  }
  return dlogits;
}

/**
 * [G] Σ weights[t]·losses[t] over the non-ignored tokens of each group (SFT and PG losses are reported apart).
 * losses, targets, weights: [T]; group: [T] ints; tokens whose group is >= G count in no group.
 */
export function cross_entropy_group_losses(
  losses: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  group: ArrayLike<number>,
  G: number,
): Float64Array {
  const out = new Float64Array(G);
  for (let t = 0; t < losses.length; t++) {
    if (targets[t] === IGNORE || group[t] >= G) continue;
    out[group[t]] += weights[t] * losses[t];
  }
  return out;
}

// ---- The chunked path, step by step as the GPU runs it ----

export interface CrossEntropyStats {
  /** [T, 2] (running max, running Σ exp(logit − max)) over the chunks seen so far. */
  stats: Float64Array;
  /** [T] logits[t, target[t]] once the chunk holding the target has been seen; 0 before. */
  targetLogit: Float64Array;
}

/** Empty statistics: max −∞ (the GPU uses a finite stand-in), sum 0. */
export function cross_entropy_init(T: number): CrossEntropyStats {
  const stats = new Float64Array(T * 2);
  for (let t = 0; t < T; t++) stats[t * 2] = -Infinity;
  return { stats, targetLogit: new Float64Array(T) };
}

/**
 * Folds one vocabulary chunk into the statistics (online log-sum-exp). chunk: [T, stride], whose columns 0..Vc-1
 * hold logits[:, v0..v0+Vc-1]; targets: [T]; prev: the statistics so far (not modified).
 */
export function cross_entropy_stats(
  chunk: ArrayLike<number>,
  targets: ArrayLike<number>,
  prev: CrossEntropyStats,
  T: number,
  Vc: number,
  v0: number,
  stride = Vc,
): CrossEntropyStats {
  const stats = Float64Array.from(prev.stats);
  const targetLogit = Float64Array.from(prev.targetLogit);
  for (let t = 0; t < T; t++) {
    let max = -Infinity;
    for (let j = 0; j < Vc; j++) max = Math.max(max, chunk[t * stride + j]);
    let sum = 0;
    for (let j = 0; j < Vc; j++) sum += Math.exp(chunk[t * stride + j] - max);
    const [m0, s0] = [stats[t * 2], stats[t * 2 + 1]];
    const m = Math.max(m0, max);
    stats[t * 2] = m;
    stats[t * 2 + 1] = (s0 === 0 ? 0 : s0 * Math.exp(m0 - m)) + sum * Math.exp(max - m);
    const target = targets[t];
    if (target >= v0 && target < v0 + Vc) targetLogit[t] = chunk[t * stride + (target - v0)];
  }
  return { stats, targetLogit };
}

/**
 * After the last chunk: lse [T], losses [T], and loss [1 + G] = (total weighted loss, then per-group sums).
 * targets, weights, group: [T].
 */
export function cross_entropy_finish(
  s: CrossEntropyStats,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  group: ArrayLike<number>,
  T: number,
  G: number,
): { lse: Float64Array; losses: Float64Array; loss: Float64Array } {
  const lse = new Float64Array(T);
  const losses = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    lse[t] = s.stats[t * 2] + Math.log(s.stats[t * 2 + 1]);
    if (targets[t] !== IGNORE) losses[t] = lse[t] - s.targetLogit[t];
  }
  let total = 0;
  for (let t = 0; t < T; t++) if (targets[t] !== IGNORE) total += weights[t] * losses[t];
  const loss = new Float64Array(1 + G);
  loss[0] = total;
  loss.set(cross_entropy_group_losses(losses, targets, weights, group, G), 1);
  return { lse, losses, loss };
}

function checkTarget(target: number, V: number, t: number): void {
  if (!Number.isInteger(target) || target < 0 || target >= V) {
    throw new Error(`cross_entropy: target ${target} of token ${t} is outside [0, ${V}) and is not ${IGNORE}`);
  }
}
