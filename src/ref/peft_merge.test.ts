// peft_merge against the unmerged path: a merged projection W' = W + scale·B·A must give, for any input x, the base
// projection plus the LoRA delta lora_forward computes (dropout off), with scale alpha/r, or alpha/sqrt(r) under
// rsLoRA. The export tests trust peft_merge as their oracle, so it gets a check of its own.
import { describe, expect, it } from 'vitest';
import type { LoraLayout, LoraSlot } from '../llama/lora';
import type { LoraAdapter } from '../llama/peft';
import type { RefModel } from './llama';
import { lora_forward } from './lora';
import { matmul_forward } from './matmul';
import { peft_merge } from './peft_merge';
import { lcg } from '../util/lcg';

const [T, K, N, R, ALPHA] = [3, 12, 7, 4, 8];

/** One layer with a q projection [N,K], and an adapter on it alone: params are A [R,K] then B [N,R]. */
function setup(useRslora: boolean) {
  const W = lcg(N * K, 11);
  const params = Float32Array.from(lcg(R * K + N * R, 12, 0.5));
  const slot: LoraSlot = { index: 0, layer: 0, target: 'q', K, N, aOffset: 0, bOffset: R * K };
  const spec = { rank: R, alpha: ALPHA, dropout: 0, targets: ['q' as const], useRslora };
  const layout: LoraLayout = { spec, slots: [slot], size: params.length, scale: 0 };
  const adapter: LoraAdapter = { layout, params, baseModel: 'test' };
  const ref = { layers: [{ q: Float64Array.from(W) }] } as unknown as RefModel;
  return { W, params, adapter, ref };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('peft_merge', () => {
  for (const useRslora of [false, true]) {
    it(`merged W·x equals W·x plus the LoRA delta${useRslora ? ' (rsLoRA)' : ''}`, () => {
      const { W, params, adapter, ref } = setup(useRslora);
      peft_merge(ref, adapter);
      const x = lcg(T * K, 13);
      const scale = useRslora ? ALPHA / Math.sqrt(R) : ALPHA / R;
      const A = params.subarray(0, R * K);
      const B = params.subarray(R * K);
      const base = matmul_forward(x, W, null, T, K, N);
      const delta = lora_forward(x, A, B, scale, 0, 0, T, K, N, R).y;
      const unmerged = base.map((v, i) => v + delta[i]);
      const merged = matmul_forward(x, (ref.layers[0] as unknown as { q: Float64Array }).q, null, T, K, N);
      const d = maxDiff(merged, unmerged);
      console.log(`peft_merge rslora=${useRslora}: max |merged - unmerged| ${d.toExponential(2)}, delta scale ${maxDiff(delta, new Float64Array(delta.length)).toExponential(2)}`);
      expect(d).toBeLessThan(1e-12);
      // The control: the other scaling rule gives a different projection, so the check can fail.
      const other = lora_forward(x, A, B, useRslora ? ALPHA / R : ALPHA / Math.sqrt(R), 0, 0, T, K, N, R).y;
      expect(maxDiff(merged, base.map((v, i) => v + other[i]))).toBeGreaterThan(1e-3);
    });
  }
});
