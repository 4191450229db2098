// The RoPE inverse frequencies (with Llama 3's rescaling) that the engine computes once on the CPU and uploads as
// f32. Production code, so it lives with the engine; the float64 reference (src/ref/rope.ts) uses the same function.

/** Llama 3's frequency-dependent rescaling, as in transformers' `_compute_llama3_parameters`. */
export interface RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** inv_freq [D/2]: theta^(-2i/D), rescaled per frequency band when `scaling` is given. */
export function rope_inv_freq(D: number, theta: number, scaling: RopeScaling | null): Float64Array {
  const half = D / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / D);
  if (!scaling) return inv;
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: orig } = scaling;
  const lowFreqWavelen = orig / low;
  const highFreqWavelen = orig / high;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) {
      inv[i] = inv[i] / factor; // long wavelengths: plain position interpolation
    } else if (wavelen >= highFreqWavelen) {
      // between the bands: blend interpolated and original (HF's is_medium_freq includes both edges)
      const smooth = (orig / wavelen - low) / (high - low);
      inv[i] = ((1 - smooth) * inv[i]) / factor + smooth * inv[i];
    } // short wavelengths stay as they are
  }
  return inv;
}
