// The memory planner: recompute only when saved activations do not fit, an actionable error when nothing fits,
// and the target figure (SmolLM2-360M, T=1024, f16 weights, rank 16 on all targets: under 2 GB).
import { describe, expect, it } from 'vitest';
import { SMOLLM2_360M } from '../bench/random-model';
import { parseModelConfig } from '../model/config';
import { loraLayout, LORA_TARGETS } from './lora';
import { choosePlan, OutOfMemoryPlanError, planTraining } from './planner';

const cfg = parseModelConfig(SMOLLM2_360M);
const layout = loraLayout(cfg, { rank: 16, alpha: 32, dropout: 0.05, targets: [...LORA_TARGETS] });
const input = { cfg, T: 1024, rank: 16, targets: layout.spec.targets, loraParams: layout.size, f16: true, vocabChunk: 2048, groups: 2 };
const GB = 1e9;

describe('planner', () => {
  it('puts SmolLM2-360M LoRA training at T=1024 with f16 weights under 2 GB (with recompute)', () => {
    const lean = planTraining({ ...input, recompute: true });
    const full = planTraining({ ...input, recompute: false });
    console.log(`360M T=1024: ${(full.total / GB).toFixed(2)} GB saving activations, ${(lean.total / GB).toFixed(2)} GB with recompute`);
    expect(lean.total).toBeLessThan(2 * GB);
    expect(full.total).toBeGreaterThan(lean.total);
    expect(lean.weights).toBe(full.weights);
    // 361,821,120 parameters in f16
    expect(lean.weights).toBe(2 * 361_821_120);
  });

  it('keeps saved activations when they fit, switches to recompute when not, and says what to change otherwise', () => {
    expect(choosePlan(input, 4 * GB).recompute).toBe(false);
    expect(choosePlan(input, 2 * GB).recompute).toBe(true);
    expect(choosePlan(input, 4 * GB, true).recompute).toBe(true);
    expect(() => choosePlan(input, 0.5 * GB)).toThrow(OutOfMemoryPlanError);
    expect(() => choosePlan(input, 0.5 * GB)).toThrow(/even with activation recompute.*shorter sequences/);
  });
});
