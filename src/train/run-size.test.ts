// The run is sized to its data: a few dozen records get enough optimizer steps to learn from, a large dataset gets
// the paper's run, the user's values always win, and a run with few steps says so.
import { describe, expect, it } from 'vitest';
import { CLI_WORDS, RUN_SIZE, sizeRun } from './run-size';

/** Optimizer steps of a run: each epoch ends with a smaller batch rather than dropping records. */
const stepsFor = (records: number, batch: number, epochs: number) => Math.ceil(records / batch) * epochs;

describe('sizeRun', () => {
  it('gives 64 records batch 8 and enough epochs for 120 steps, not the paper defaults\' handful', () => {
    const r = sizeRun(64);
    expect(r).toMatchObject({ batchSize: 8, epochs: 15, steps: 120, warning: null });
    expect(r.steps).toBeGreaterThanOrEqual(100);
    expect(r.steps).toBe(stepsFor(64, r.batchSize, r.epochs));
    expect(r.reason).toBe('64 training records: batch 8 and 15 epochs give 120 optimizer steps (at least 120 are needed to learn from this few records)');
    // The paper's numbers on the same data: the run that learned nothing.
    expect(sizeRun(64, { batchSize: 32, epochs: 10 }).steps).toBe(20);
  });

  it('keeps the paper\'s batch 32 and 10 epochs for a large dataset', () => {
    const r = sizeRun(2000);
    expect(r).toMatchObject({ batchSize: 32, epochs: 10, steps: 630, warning: null });
    expect(r.reason).toBe('2000 training records: batch 32 and 10 epochs give 630 optimizer steps (at least 120 are needed)');
  });

  it('reaches at least the minimum steps for every dataset that can, and never more epochs than the cap', () => {
    for (let n = 1; n <= 1500; n++) {
      const r = sizeRun(n);
      expect(r.steps).toBe(stepsFor(n, r.batchSize, r.epochs));
      expect(r.batchSize).toBeGreaterThanOrEqual(RUN_SIZE.minBatch);
      expect(r.batchSize).toBeLessThanOrEqual(RUN_SIZE.maxBatch);
      expect(r.epochs).toBeGreaterThanOrEqual(RUN_SIZE.defaultEpochs);
      expect(r.epochs).toBeLessThanOrEqual(RUN_SIZE.maxEpochs);
      if (r.epochs < RUN_SIZE.maxEpochs) expect(r.steps, `${n} records`).toBeGreaterThanOrEqual(RUN_SIZE.minSteps);
      expect(r.warning === null).toBe(r.steps >= RUN_SIZE.minSteps);
    }
  });

  it('warns when even the most automatic epochs leave few steps', () => {
    const r = sizeRun(4);
    expect(r).toMatchObject({ batchSize: 2, epochs: 40, steps: 80 });
    expect(r.reason).toBe('4 training records: batch 2 and 40 epochs (the most chosen automatically) give 80 optimizer steps');
    expect(r.warning).toBe('few steps (80, under 120): the adapter may learn little; synthesize more records or raise the epochs');
    expect(sizeRun(1).reason).toMatch(/^1 training record: /);
  });

  it('lets both values set by the user win, and warns when they give few steps', () => {
    const r = sizeRun(64, { batchSize: 32, epochs: 10 }, CLI_WORDS);
    expect(r).toMatchObject({ batchSize: 32, epochs: 10, steps: 20 });
    expect(r.reason).toBe('batch 32 and epochs 10 set by you: 20 optimizer steps');
    expect(r.warning).toBe('few steps (20, under 120): the adapter may learn little; lower --batch-size or raise --epochs');
    // Values that give enough steps carry no warning.
    expect(sizeRun(64, { batchSize: 2, epochs: 4 })).toMatchObject({ steps: 128, warning: null });
  });

  it('derives the epochs from a batch set by the user', () => {
    const r = sizeRun(64, { batchSize: 4 });
    expect(r).toMatchObject({ batchSize: 4, epochs: 10, steps: 160, warning: null });
    expect(r.reason).toBe('batch 4 set by you and 10 epochs chosen for 64 training records: 160 optimizer steps');
    expect(sizeRun(64, { batchSize: 32, epochs: null })).toMatchObject({ epochs: 40, steps: 80 });
    expect(sizeRun(64, { batchSize: 32 }, CLI_WORDS).warning).toMatch(/lower --batch-size or raise --epochs$/);
  });

  it('derives a batch small enough for the minimum steps from epochs set by the user', () => {
    const r = sizeRun(64, { epochs: 10 });
    expect(r).toMatchObject({ batchSize: 5, epochs: 10, steps: 130, warning: null });
    expect(r.reason).toBe('epochs 10 set by you and batch 5 chosen for 64 training records: 130 optimizer steps');
    // One epoch cannot reach it: the batch stops at the smallest automatic one and the advice is the epochs.
    const one = sizeRun(64, { epochs: 1 }, CLI_WORDS);
    expect(one).toMatchObject({ batchSize: 2, epochs: 1, steps: 32 });
    expect(one.warning).toMatch(/; raise --epochs$/);
    // Plenty of steps already: the automatic batch stays.
    expect(sizeRun(640, { epochs: 20 })).toMatchObject({ batchSize: 32, steps: 400 });
  });

  it('refuses values that are not whole numbers of at least 1', () => {
    expect(() => sizeRun(64, { batchSize: 0 })).toThrow(/the batch size must be a whole number of at least 1, not 0/);
    expect(() => sizeRun(64, { epochs: 2.5 })).toThrow(/the epochs must be a whole number of at least 1, not 2.5/);
    expect(() => sizeRun(-1)).toThrow(RangeError);
  });
});
