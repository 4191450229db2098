// How PEFT applies a LoRA adapter when it merges it: W [N,K] += (alpha / r) · B [N,R] · A [R,K] for every adapted
// projection (alpha / sqrt(r) with use_rslora), in float64 on the reference model. An independent path to the
// adapted model's logits: no LoRA kernels, no dropout, only the adapter's tensors as PEFT reads them.
import type { LoraAdapter } from '../llama/peft';
import type { RefModel } from './llama';

export function peft_merge(ref: RefModel, adapter: LoraAdapter): void {
  const R = adapter.layout.spec.rank;
  const scale = adapter.layout.spec.useRslora ? adapter.layout.spec.alpha / Math.sqrt(R) : adapter.layout.spec.alpha / R;
  for (const s of adapter.layout.slots) {
    const W = ref.layers[s.layer][s.target];
    const A = adapter.params.subarray(s.aOffset, s.aOffset + R * s.K);
    const B = adapter.params.subarray(s.bOffset, s.bOffset + s.N * R);
    for (let n = 0; n < s.N; n++) for (let k = 0; k < s.K; k++) {
      let d = 0;
      for (let r = 0; r < R; r++) d += B[n * R + r] * A[r * s.K + k];
      W[n * s.K + k] += scale * d;
    }
  }
}
