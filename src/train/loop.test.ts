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
