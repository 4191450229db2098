// The LoRA dropout threshold the kernels compare their mask hash against. The engine computes it for every
// dispatch, so it is production code; the reference's mask (src/ref/dropout.ts) is checked against it.

/**
 * The u32 the GPU compares the hash against (keep iff hash >= threshold): ceil(p * 2^32), the same decision as
 * dropout_keep (src/ref/dropout.ts) for every 0 <= p <= 1 - 2^-32 (p * 2^32 is exact in float64, and hash is an
 * integer).
 */
export function dropout_threshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability ${p} must be in [0, 1)`);
  return Math.min(Math.ceil(p * 2 ** 32), 2 ** 32 - 1);
}
