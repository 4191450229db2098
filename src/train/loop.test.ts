// The training loop's guard against non-finite numbers, over a scripted trainer (no GPU): a NaN or infinite loss
// stops the run before the update, a non-finite gradient norm right after it, and neither step is checkpointed, so
// the last checkpoint saved is the last good state.
import { describe, expect, it } from 'vitest';
import type { LoraTrainer } from '../llama/trainer';
import type { Group, Sequence } from './batch';
import { NonFiniteTrainingError, runTraining, type Checkpoint, type LoopSettings } from './loop';

/** A trainer whose loss and gradient norm at each step (1-based) come from the script; counts updates. */
function scriptedTrainer(loss: (step: number) => number, norm: (step: number) => number) {
  let step = 0;
  const t = {
    updates: 0,
    opts: { maxT: 64 },
    zeroGrads: () => void step++,
    forwardBackward: async () => {},
    readLoss: async () => Float32Array.of(loss(step), loss(step)),
    update: async () => (t.updates++, norm(step)),
    readParams: async () => Float32Array.of(step),
    readMoments: async () => ({ m: Float32Array.of(step), v: Float32Array.of(step) }),
  };
  return t;
}

const seq = (n: number): Sequence => ({ input_ids: Array.from({ length: n }, (_, i) => i + 1), labels: Array.from({ length: n }, (_, i) => i + 1) });
const examples = Array.from({ length: 4 }, () => [seq(6)]);
const groups: Group[] = [{ weight: 1, sequences: examples.map((e) => e[0]) }];
const settings: LoopSettings = {
  epochs: 3, batchSize: 2, lr: 1e-3, warmupFraction: 0, seed: 1, checkpointEvery: 1,
  optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 },
};

async function run(loss: (s: number) => number, norm: (s: number) => number) {
  const trainer = scriptedTrainer(loss, norm);
  const saved: Checkpoint[] = [];
  const result = runTraining(trainer as unknown as LoraTrainer, examples, groups, settings, { saveCheckpoint: async (c) => void saved.push(c) });
  return { trainer, saved, result };
}

describe('runTraining and non-finite numbers', () => {
  for (const bad of [NaN, Infinity]) {
    it(`stops at a ${bad} loss before the update, keeping the checkpoints of the steps before`, async () => {
      const { trainer, saved, result } = await run((s) => (s === 3 ? bad : 2 - s / 10), () => 0.5);
      await expect(result).rejects.toThrow(NonFiniteTrainingError);
      await expect(result).rejects.toMatchObject({ step: 3, what: 'loss', message: expect.stringMatching(`training step 3 gave a non-finite loss \\(${bad}\\)`) });
      expect(trainer.updates).toBe(2);
      expect(saved.map((c) => c.step)).toEqual([1, 2]);
    });
  }

  it('stops at a non-finite gradient norm without checkpointing the parameters that update wrote', async () => {
    const { trainer, saved, result } = await run(() => 1, (s) => (s === 2 ? NaN : 0.5));
    await expect(result).rejects.toMatchObject({ name: 'NonFiniteTrainingError', step: 2, what: 'gradient norm' });
    expect(trainer.updates).toBe(2);
    expect(saved.map((c) => c.step)).toEqual([1]);
  });

  it('runs to the end when every number is finite (the guard can pass)', async () => {
    const { saved, result } = await run(() => 1, () => 0.5);
    await expect(result).resolves.toMatchObject({ steps: 6, cancelled: false });
    expect(saved.map((c) => c.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('runTraining with held-out scoring', () => {
  // 12 steps, scored every 4 (rule for 12 steps: every 4, min 4): the score falls to step 8 and then rises.
  const long: LoopSettings = { ...settings, epochs: 6, checkpointEvery: 2 };
  const score = (step: number) => [1, 0.5, 0.6, 0.7, 0.8, 0.9][step / 4 - 1] ?? 1;
  const heldout = (trainer: ReturnType<typeof scriptedTrainer>) => ({
    rule: { maxSteps: 12, every: 4, patience: 2, minImprovement: 0.01, minSteps: 4 },
    // The scripted trainer's params are its step count; forward-only scoring leaves them alone.
    score: async () => score((await trainer.readParams())[0]),
  });

  it('stops once the score stops improving and returns the best step, checkpointed with its params', async () => {
    const trainer = scriptedTrainer(() => 1, () => 0.5);
    const saved: Checkpoint[] = [];
    const r = await runTraining(trainer as unknown as LoraTrainer, examples, groups, long, { heldout: heldout(trainer), saveCheckpoint: async (c) => void saved.push(c) });
    expect(r).toMatchObject({ steps: 12, stoppedEarly: false, cancelled: false });
    expect(r.best?.step).toBe(8);
    expect([...r.best!.params]).toEqual([8]);
    expect(r.curve.filter((p) => p.heldout !== undefined).map((p) => [p.step, p.heldout])).toEqual([[4, 1], [8, 0.5], [12, 0.6]]);

    // With a larger plan the same scores stop it at step 16, after 2 scores without improvement; that step is saved.
    const t2 = scriptedTrainer(() => 1, () => 0.5);
    const saved2: Checkpoint[] = [];
    const h2 = { ...heldout(t2), rule: { ...heldout(t2).rule, maxSteps: 24 } };
    const r2 = await runTraining(t2 as unknown as LoraTrainer, examples, groups, { ...long, epochs: 12 }, { heldout: h2, saveCheckpoint: async (c) => void saved2.push(c) });
    expect(r2).toMatchObject({ steps: 16, stoppedEarly: true, best: { step: 8, score: 0.5 } });
    expect(saved2.at(-1)).toMatchObject({ step: 16 });
    expect([...saved2.at(-1)!.best!]).toEqual([8]);
    expect(saved.length).toBeGreaterThan(0);
  });

  it('decides the same after a resume from any checkpoint as without one', async () => {
    const full = scriptedTrainer(() => 1, () => 0.5);
    const saved: Checkpoint[] = [];
    const plan = { ...long, epochs: 12 };
    const rule = { maxSteps: 24, every: 4, patience: 2, minImprovement: 0.01, minSteps: 4 };
    const uninterrupted = await runTraining(full as unknown as LoraTrainer, examples, groups, plan,
      { heldout: { rule, score: async () => score((await full.readParams())[0]) }, saveCheckpoint: async (c) => void saved.push(c) });
    for (const c of saved) {
      const t = scriptedTrainer(() => 1, () => 0.5);
      for (let i = 0; i < c.step; i++) t.zeroGrads(); // the scripted trainer resumes at the checkpoint's step
      const r = await runTraining(t as unknown as LoraTrainer, examples, groups, plan,
        { heldout: { rule, score: async () => score((await t.readParams())[0]) } }, c);
      expect({ step: c.step, steps: r.steps, best: r.best?.step, params: [...r.best!.params] }).toEqual({ step: c.step, steps: 16, best: 8, params: [8] });
      expect(r.curve).toEqual(uninterrupted.curve);
    }
    // A checkpoint before the first score has no best yet; one after it must carry the best params.
    expect(saved.find((c) => c.step === 2)?.best).toBeUndefined();
    const { best: _, ...stripped } = saved.find((c) => c.step === 10)!;
    await expect(runTraining(full as unknown as LoraTrainer, examples, groups, plan, { heldout: { rule, score: async () => 1 } }, stripped))
      .rejects.toThrow(/held-out scores but not the best step's params/);
  });
});
