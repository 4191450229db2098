// Folds a LoRA adapter into the base weights as PEFT's merge_and_unload does, W [N,K] += scale · B [N,R] · A [R,K]
// (scale alpha/r, or alpha/sqrt(r) for rsLoRA), so the exported model needs no LoRA at inference. Sums in float64
// and rounds once to f32, the precision of the weights the export writes.
import type { LoraAdapter } from '../llama/peft';
import { modulePath } from '../llama/lora';
import type { WeightIndex } from '../model/weights';
import type { TensorReader } from './decoder-graph';

export function mergedReader(weights: WeightIndex, adapter: LoraAdapter | null): TensorReader {
  const slots = new Map((adapter?.layout.slots ?? []).map((s) => [`${modulePath(s.layer, s.target)}.weight`, s]));
  return async (name) => {
    if (!weights.tensors.has(name)) return null;
    const w = (await weights.readF32(name)).data;
    const s = slots.get(name);
    if (!s || !adapter) return w;
    const R = adapter.layout.spec.rank;
    const scale = adapter.layout.scale;
    const A = adapter.params.subarray(s.aOffset, s.aOffset + R * s.K);
    const B = adapter.params.subarray(s.bOffset, s.bOffset + s.N * R);
    const out = new Float32Array(w.length);
    const row = new Float64Array(s.K);
    for (let n = 0; n < s.N; n++) {
      row.fill(0);
      for (let r = 0; r < R; r++) {
        const b = B[n * R + r];
        const a = r * s.K;
        for (let k = 0; k < s.K; k++) row[k] += b * A[a + k];
      }
      for (let k = 0; k < s.K; k++) out[n * s.K + k] = w[n * s.K + k] + scale * row[k];
    }
    return out;
  };
}
