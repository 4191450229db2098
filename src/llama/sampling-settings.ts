// One row's sampling settings, shared by the engine (which packs them for shaders/sampling.wgsl) and the float64
// reference; a file of its own so neither has to import the other.

/** One row's settings; shaders/sampling.wgsl reads them as f32/u32, so temperature and topP are used as f32. */
export interface SamplingSettings {
  /** <= 0: greedy (argmax of the raw logits, lowest id on ties). */
  temperature: number;
  /** keep the topK largest scaled logits, all of those tied with the k-th; 0 (or >= V) = off. */
  topK: number;
  /** keep the smallest set of largest survivors with mass >= topP (all ties at the boundary); >= 1 = off. */
  topP: number;
  /** u32 */
  seed: number;
  /** u32, e.g. the decode step, so one seed gives a fresh draw per step */
  step: number;
}
