// The memory planner: recompute only when saved activations do not fit, an actionable error when nothing fits,
// and the target figure (SmolLM2-360M, T=1024, f16 weights, rank 16 on all targets: under 2 GB); the
// teacher pass over a long P counted and refused early, with a number and what to change.
import { describe, expect, it } from 'vitest';
import { SMOLLM2_360M } from '../bench/random-model';
import { parseModelConfig } from '../model/config';
import { loraLayout, LORA_TARGETS } from './lora';
import { choosePlan, OutOfMemoryPlanError, planTraining, teacherLayout, teacherPassBytes } from './planner';

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

describe('planner: the teacher pass over a long P', () => {
  const kl = { ...input, groups: 0, klTopK: 32 };

  it("holds P's KV once: it grows by P's keys and values per token of P, not by a forward over P", () => {
    const suffix = 200; // the longest record behind P
    const [a, b, c] = [1000, 2000, 4000].map((P) => teacherPassBytes(cfg, teacherLayout(cfg, P, suffix), 32));
    const kvPerToken = 4 * 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim;
    console.log(`360M teacher pass: ${[a, b, c].map((x) => (x / 2 ** 20).toFixed(0)).join(', ')} MiB at P = 1000, 2000, 4000 tokens ` +
      `(${kvPerToken / 1024} KiB of KV per token of P)`);
    expect(c - b).toBe(2 * (b - a));
    expect(b - a).toBe(1000 * kvPerToken);
    expect(planTraining({ ...kl, recompute: true, teacherT: 4000 + suffix, teacherPrefix: 4000 }).teacher).toBe(c);
    expect(planTraining({ ...kl, recompute: true }).teacher).toBe(0);
    expect(planTraining({ ...input, recompute: true, teacherT: 4000 }).teacher).toBe(0); // no distillation, no teacher pass
  });

  it('refuses before training when the teacher pass does not fit, though the trainer would', () => {
    const T = 16384;
    const lean = planTraining({ ...kl, recompute: true, teacherT: T });
    const peak = lean.weights + lean.teacher!;
    expect(peak).toBeGreaterThan(lean.total); // the long P makes the teacher pass the run's peak
    const budget = (peak + lean.total) / 2;
    expect(() => choosePlan({ ...kl, teacherT: 1024 }, budget)).not.toThrow();
    expect(() => choosePlan({ ...kl, teacherT: T }, budget)).toThrow(OutOfMemoryPlanError);
    const gib = (n: number) => (n / 2 ** 30).toFixed(2);
    expect(() => choosePlan({ ...kl, teacherT: T }, budget)).toThrow(
      `the teacher pass over sequences of ${T} tokens (the prompt, then a conversation) needs ${gib(peak)} GiB of GPU memory ` +
        `(weights ${gib(lean.weights)} GiB, teacher pass ${gib(lean.teacher!)} GiB), over the ${gib(budget)} GiB budget: use a shorter ` +
        'prompt or shorter conversations (fewer turns, fewer new tokens), a variant without distillation (joint, sft_only), or a smaller model',
    );
  });
});
