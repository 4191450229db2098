// float64 reference for shaders/sampling.wgsl: next-token choice for B rows of logits with Hugging Face's order
// (temperature, then top-k, then top-p over the top-k survivors, then min-p), thresholds as order-preserving u32 keys.

// The settings type is production code (the engine packs it for the kernel); the reference reads the same type.
import { minPLog, type SamplingSettings } from '../llama/sampling-settings';

export type { SamplingSettings };

/** The key of -inf: masked and non-finite logits get it and weigh nothing. */
export const SAMPLING_KEY_NEG_INF = 0x007fffff;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** u32 key of the f32 value of x whose unsigned order is the float order (-0 and +0 share one key). */
export function sampling_key(x: number): number {
  f32[0] = x;
  let bits = u32[0];
  if (bits === 0x80000000) bits = 0;
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}

/** PCG-RXS-M-XS 32-bit hash (a bijection of u32), mirrored by `smp_pcg` in shaders/sampling.wgsl. */
export function sampling_pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/**
 * u in [0, 1) with 24 bits (exact in f32), stateless in (seed, step): not the batch row, so a request's draws do not
 * depend on which requests share its batch. For a fixed step, a bijection of the seed.
 */
export function sampling_uniform(seed: number, step: number): number {
  const h = sampling_pcg((seed ^ sampling_pcg(step >>> 0)) >>> 0);
  return (h >>> 8) / 2 ** 24;
}

/** The scaled logit as the GPU holds it (an f32), or -inf when the logit or the quotient is not finite. */
export function sampling_scaled(logit: number, temperature: number): number {
  const l = Math.fround(logit);
  if (!Number.isFinite(l)) return -Infinity;
  const z = Math.fround(l / Math.fround(temperature));
  return Number.isFinite(z) ? z : -Infinity;
}

/**
 * Samples one token per row. logits: [B, V]; settings: [B]. Returns ids [B], and per row the keep threshold (a token
 * is eligible iff sampling_key(its scaled logit) >= threshold; 0 = all) and the number of eligible tokens.
 * Greedy rows report the key of their (unscaled) max logit and kept = 1: only ids[b] is eligible. nonFinite counts
 * each row's NaN and infinite logits (as f32).
 */
export function sample_tokens(
  logits: ArrayLike<number>,
  settings: readonly SamplingSettings[],
  B: number,
  V: number,
): { ids: Uint32Array; threshold: Uint32Array; kept: Uint32Array; nonFinite: Uint32Array } {
  const ids = new Uint32Array(B);
  const threshold = new Uint32Array(B);
  const kept = new Uint32Array(B);
  const nonFinite = new Uint32Array(B);
  for (let b = 0; b < B; b++) {
    const s = settings[b];
    const row = Array.from({ length: V }, (_, v) => logits[b * V + v]);
    nonFinite[b] = row.filter((l) => !Number.isFinite(Math.fround(l))).length;
    const temperature = Math.fround(s.temperature);
    if (!(temperature > 0)) {
      let best = 0;
      let bestKey = 0;
      for (let v = 0; v < V; v++) {
        const key = sampling_key(sampling_scaled(row[v], 1));
        if (key > bestKey || v === 0) [best, bestKey] = [v, key];
      }
      ids[b] = best;
      threshold[b] = bestKey;
      kept[b] = 1;
      continue;
    }
    const z = row.map((l) => sampling_scaled(l, temperature));
    const keys = z.map(sampling_key);
    const zmax = z.reduce((m, x) => Math.max(m, x), -Infinity);
    const w = z.map((x) => (x === -Infinity ? 0 : Math.exp(x - zmax)));
    // Tokens grouped by equal key, largest first: ties at a boundary are kept or dropped together.
    const order = keys.map((_, v) => v).sort((a, c) => keys[c] - keys[a]);
    const groups: { key: number; count: number; mass: number }[] = [];
    for (const v of order) {
      const last = groups[groups.length - 1];
      if (last && last.key === keys[v]) {
        last.count++;
        last.mass += w[v];
      } else groups.push({ key: keys[v], count: 1, mass: w[v] });
    }

    // top-k: the key of the k-th largest; every token tied with it stays.
    let t = 0;
    const k = s.topK >>> 0;
    if (k !== 0 && k < V) {
      let count = 0;
      for (const g of groups) {
        count += g.count;
        if (count >= k) {
          t = g.key;
          break;
        }
      }
    }
    // top-p over the top-k survivors: the largest groups until their mass reaches topP of the survivors' mass.
    const topP = Math.fround(s.topP);
    if (topP < 1) {
      let total = 0;
      for (const g of groups) if (g.key >= t) total += g.mass;
      let mass = 0;
      for (const g of groups) {
        mass += g.mass;
        if (mass > 0 && mass >= topP * total) {
          t = Math.max(t, g.key);
          break;
        }
      }
    }
    // min-p: the scaled max plus ln(minP), added in f32 as the kernel does; nothing finite, nothing to measure from.
    const lnMinP = minPLog(s.minP);
    if (lnMinP !== null && zmax > -Infinity) t = Math.max(t, sampling_key(Math.fround(zmax + lnMinP)));
    threshold[b] = t;
    kept[b] = keys.filter((x) => x >= t).length;

    // The draw: the first eligible token (ascending id) whose normalized cumulative mass exceeds u.
    const u = sampling_uniform(s.seed, s.step);
    let keptMass = 0;
    let last = 0;
    for (let v = 0; v < V; v++) {
      if (keys[v] >= t && w[v] > 0) {
        keptMass += w[v];
        last = v;
      }
    }
    let cum = 0;
    ids[b] = last; // only reached by rounding when u is within an ulp of 1
    for (let v = 0; v < V; v++) {
      if (keys[v] < t) continue;
      cum += w[v];
      if (cum / keptMass > u) {
        ids[b] = v;
        break;
      }
    }
  }
  return { ids, threshold, kept, nonFinite };
}
