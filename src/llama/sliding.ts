// Gemma 3's sliding-window attention, as the packed attention kernel already understands it: query t sees keys
// seqStart[t]..t, so a window of W is the later of its sequence's start and t − W + 1. That first key never
// decreases along t (both terms never do), which is all the kernel's tiling assumes; no kernel needs a window.

/** Per token, the first key a sliding layer lets it see. seqStart: [T], non-decreasing. */
export function slidingSeqStart(seqStart: ArrayLike<number>, window: number): Uint32Array {
  return Uint32Array.from({ length: seqStart.length }, (_, t) => Math.max(seqStart[t], t - window + 1));
}
