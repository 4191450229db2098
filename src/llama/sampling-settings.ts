// One row's sampling settings, shared by the engine (which packs them for shaders/sampling.wgsl) and the float64
// reference; a file of its own so neither has to import the other.

/**
 * ln(minP) as the kernel reads it (an f32), or null when min-p is off. Computed once on the host, so the kernel and
 * the reference draw the boundary from the same f32 rather than from two logarithms that may round apart.
 */
export function minPLog(minP: number | undefined): number | null {
  if (minP === undefined || !(minP > 0)) return null;
  if (!(minP <= 1)) throw new Error(`min-p ${minP} is not in (0, 1]`);
  return Math.fround(Math.log(minP));
}

/** One row's settings; shaders/sampling.wgsl reads them as f32/u32, so temperature and topP are used as f32. */
export interface SamplingSettings {
  /** <= 0: greedy (argmax of the raw logits, lowest id on ties). */
  temperature: number;
  /** keep the topK largest scaled logits, all of those tied with the k-th; 0 (or >= V) = off. */
  topK: number;
  /** keep the smallest set of largest survivors with mass >= topP (all ties at the boundary); >= 1 = off. */
  topP: number;
  /**
   * min-p (Nguyen et al. 2024): also drop every token whose probability is under minP times the largest one's, i.e.
   * whose scaled logit is under max + ln(minP) (ties kept). Relative to the top, so a flat row keeps its whole
   * plateau and a peaked one its head only. Absent, 0 or less: off.
   */
  minP?: number;
  /** u32 */
  seed: number;
  /** u32, e.g. the decode step, so one seed gives a fresh draw per step */
  step: number;
}
