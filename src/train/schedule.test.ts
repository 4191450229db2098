// Checks the schedule against transformers' cosine-with-warm-up formula worked out by hand.
import { describe, expect, it } from 'vitest';
import { idleScheduleWarning, learningRate, warmupSteps } from './schedule';

describe('learningRate', () => {
  const lr = 1e-4;
  const total = 100; // warm-up: ceil(0.03 * 100) = 3 steps

  it('ramps linearly from 0 over the warm-up, as HF (lr_lambda(0) = 0)', () => {
    expect(warmupSteps(total)).toBe(3);
    expect(learningRate(0, total, { lr })).toBe(0);
    expect(learningRate(1, total, { lr })).toBeCloseTo(lr / 3, 15);
    expect(learningRate(2, total, { lr })).toBeCloseTo((2 * lr) / 3, 15);
  });

  it('peaks at the end of the warm-up and decays by a half cosine to about 0', () => {
    expect(learningRate(3, total, { lr })).toBe(lr);
    const all = Array.from({ length: total }, (_, s) => learningRate(s, total, { lr }));
    expect(Math.max(...all)).toBe(lr);
    for (let s = 4; s < total; s++) expect(all[s]).toBeLessThan(all[s - 1]);
    // step 99: progress (99 - 3) / 97; 0.5 * (1 + cos(pi * 96/97)) = 2.6221e-4 (worked out separately)
    expect(all[99] / lr).toBeCloseTo(2.6221e-4, 7);
    expect(learningRate(total, total, { lr })).toBe(0);
  });

  it('matches hand-computed values mid-way', () => {
    // total 103: warm-up ceil(3.09) = 4, decay over 99 steps; step 37 is a third of the way: 0.5 * (1 + cos(pi/3)).
    expect(warmupSteps(103)).toBe(4);
    expect(learningRate(37, 103, { lr: 1 })).toBeCloseTo(0.75, 12);
    expect(learningRate(53, 103, { lr: 2 })).toBeCloseTo(2 * 0.5 * (1 + Math.cos((Math.PI * 49) / 99)), 12);
    expect(learningRate(10, 50, { lr: 1, warmupFraction: 0.1 })).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 5) / 45)), 12);
  });

  it('without warm-up, starts at the peak', () => {
    expect(learningRate(0, 10, { lr, warmupFraction: 0 })).toBe(lr);
  });
});

describe('idleScheduleWarning', () => {
  it('warns when no step has a learning rate above 0: one warm-up step, or a rate of 0', () => {
    expect(idleScheduleWarning(1, { lr: 1e-3 })).toBe(
      'no step will change the adapter (its only step is warm-up, taken at learning rate 0), so it will have no effect; raise the learning rate or train more steps',
    );
    expect(idleScheduleWarning(40, { lr: 0 })).toMatch(/\(the learning rate is 0\)/);
  });

  it('is quiet when some step moves the adapter', () => {
    expect(idleScheduleWarning(2, { lr: 1e-3 })).toBeNull();
    expect(idleScheduleWarning(1, { lr: 1e-3, warmupFraction: 0 })).toBeNull();
    expect(idleScheduleWarning(120, { lr: 1e-3 })).toBeNull();
  });
});
